"""The storage contract suite against the in-memory adapter."""

from __future__ import annotations

from collections.abc import Callable

from aftersales.adapters.memory import InMemoryStore
from aftersales.ports import Outbox, UnitOfWork
from aftersales.testing.contracts import StorageContract


class TestInMemoryStore(StorageContract):
    def make_uow_factory(self) -> Callable[[], UnitOfWork]:
        self.store = InMemoryStore()
        return self.store.unit_of_work

    def make_outbox(self) -> Outbox:
        return self.store.outbox()

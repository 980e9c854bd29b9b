"""The storage contract suite (aftersales.testing.contracts) against the in-memory adapter:
every generic test on every shipped kind, and the idempotency records."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import attrs

from aftersales.adapters.memory import InMemoryStore
from aftersales.domain.kernel import AggregateKind, RecordEntry
from aftersales.ports import Outbox, UnitOfWork
from aftersales.testing.contracts import StorageContract


class _Unencodable:
    """Stands where a datetime belongs: the event can no longer be turned into a payload."""


def tamper_memory(store: InMemoryStore, kind: AggregateKind[Any], item_id: UUID,
                  record: Sequence[RecordEntry]) -> None:
    """R9: replace the stored record tuple of one aggregate behind the store's back."""
    store.tables[kind.table].records[item_id] = tuple(record)


def poison_memory(store: InMemoryStore, event_id: UUID) -> None:
    """Replace a committed event with one the outbox cannot encode."""
    for index, event in enumerate(store.events):
        if event.event_id == event_id:
            broken = attrs.evolve(event)
            object.__setattr__(broken, "occurred_at", _Unencodable())
            store.events[index] = broken
            return
    raise AssertionError(f"no committed event {event_id}")


class TestInMemoryStore(StorageContract):
    def make_uow_factory(self) -> Callable[[], UnitOfWork]:
        self.store = InMemoryStore()
        return self.store.unit_of_work

    def make_outbox(self) -> Outbox:
        return self.store.outbox()

    def tamper(self, kind: AggregateKind[Any], item_id: UUID,
               record: Sequence[RecordEntry]) -> None:
        tamper_memory(self.store, kind, item_id, record)

    def poison(self, event_id: UUID) -> None:
        poison_memory(self.store, event_id)

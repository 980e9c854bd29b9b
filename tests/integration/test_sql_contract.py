"""The shipped storage contract suite (aftersales.testing.contracts) on every SQL engine."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from aftersales.adapters.sql import SqlStore
from aftersales.ports import Outbox, UnitOfWork
from aftersales.testing.contracts import StorageContract


class _SqlContract(StorageContract):
    kind = ""

    @pytest.fixture(autouse=True)
    def _shared_engine(
        self, shared_engines: dict[str, sa.Engine], require_server: Callable[[str], None]
    ) -> None:
        require_server(self.kind)  # skip (or fail under CI) before touching the server
        self.engine = shared_engines[self.kind]

    def make_uow_factory(self) -> Callable[[], UnitOfWork]:
        self.store = SqlStore(self.engine)
        return self.store.unit_of_work

    def make_outbox(self) -> Outbox:
        return self.store.outbox()


class TestSqliteContract(_SqlContract):
    kind = "sqlite"


class TestPostgresContract(_SqlContract):
    kind = "postgres"


class TestMariadbContract(_SqlContract):
    kind = "mariadb"

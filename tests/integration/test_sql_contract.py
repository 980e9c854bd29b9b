"""The shipped storage contract suite (aftersales.testing.contracts) on every SQL engine:
SQLite, PostgreSQL and MariaDB, every shipped kind, on the schema the shipped migrations make.

Each engine's database is made and migrated once per session (``shared_engines``); every test
starts from empty tables, so the suite checks exact outbox contents and stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from aftersales.adapters.sql import SqlStore
from aftersales.domain.kernel import AggregateKind, RecordEntry
from aftersales.ports import Outbox, UnitOfWork
from aftersales.testing.contracts import StorageContract

_RECORD_COLUMNS = ("at", "actor_id", "workflow", "subject_id", "action", "from_state",
                   "to_state", "note", "digest")


def empty(store: SqlStore) -> None:
    """Delete every row of the store's tables (children first)."""
    with store.engine.begin() as conn:
        for table in reversed(store.schema.metadata.sorted_tables):
            conn.execute(table.delete())


def tamper_sql(store: SqlStore, kind: AggregateKind[Any], item_id: UUID,
               record: Sequence[RecordEntry]) -> None:
    """R9: make the record rows of one aggregate ``record`` with plain UPDATE, DELETE and
    INSERT statements, behind the store's back."""
    table = store.schema.record(kind)
    wanted = {entry.sequence: entry for entry in record}
    with store.engine.begin() as conn:
        rows = {r.sequence: r for r in conn.execute(
            sa.select(table).where(table.c.owner_id == item_id))}
        for sequence, row in rows.items():
            entry = wanted.get(sequence)
            where = (table.c.owner_id == item_id, table.c.sequence == sequence)
            if entry is None:
                conn.execute(table.delete().where(*where))
                continue
            values = {c: getattr(entry, c) for c in _RECORD_COLUMNS}
            if any(getattr(row, c) != v for c, v in values.items()):
                conn.execute(table.update().where(*where).values(values))
        for sequence, entry in wanted.items():
            if sequence not in rows:
                conn.execute(table.insert().values(
                    owner_id=item_id, sequence=sequence,
                    **{c: getattr(entry, c) for c in _RECORD_COLUMNS},
                ))


def poison_sql(store: SqlStore, event_id: UUID) -> None:
    """Truncate the payload of one outbox row (it no longer parses)."""
    outbox = store.schema.outbox
    with store.engine.begin() as conn:
        done = conn.execute(outbox.update().where(outbox.c.event_id == event_id)
                            .values(payload='{"truncated'))
    assert done.rowcount == 1, f"no outbox row {event_id}"


_STORES: dict[str, SqlStore] = {}


class _SqlContract(StorageContract):
    engine_kind = ""

    @pytest.fixture(autouse=True)
    def _empty_store(
        self, shared_engines: dict[str, sa.Engine], require_server: Callable[[str], None]
    ) -> None:
        require_server(self.engine_kind)  # skip (or fail under CI) before touching the server
        engine = shared_engines[self.engine_kind]
        store = _STORES.get(self.engine_kind)
        if store is None or store.engine is not engine:
            store = _STORES[self.engine_kind] = SqlStore(engine)
        empty(store)
        self.store = store

    def make_uow_factory(self) -> Callable[[], UnitOfWork]:
        return self.store.unit_of_work

    def make_outbox(self) -> Outbox:
        return self.store.outbox()

    def tamper(self, kind: AggregateKind[Any], item_id: UUID,
               record: Sequence[RecordEntry]) -> None:
        tamper_sql(self.store, kind, item_id, record)

    def poison(self, event_id: UUID) -> None:
        poison_sql(self.store, event_id)


class TestSqliteContract(_SqlContract):
    engine_kind = "sqlite"


class TestPostgresContract(_SqlContract):
    engine_kind = "postgres"


class TestMariadbContract(_SqlContract):
    engine_kind = "mariadb"

"""Bad input for every command on SQL storage: refused with an :mod:`aftersales.errors`
exception, nothing changed (issue 8: fuzzing every public command gave 109 leaks on SQLite,
401 on PostgreSQL and 266 on MariaDB).

The shipped fuzzer (:mod:`aftersales.testing.fuzz`) runs against a :class:`SqlStore` on each
engine: every command class the desk's runner handles, every field (and the fields of the
value objects it carries) with the classes of bad input, with and without an idempotency key;
every typed method of both desks with bad actors; every base command must then succeed. The
store is compared with the kit's :func:`~aftersales.testing.fuzz.sql_snapshot` (every row of
every table) once per command class, and after every attempt with :class:`SqlCheckpoints`'s
cheap fingerprint (rows and version sum per table); an accepted value is undone by
:meth:`SqlCheckpoints.restore` (instead of building new base commands and a new full
snapshot, which made a SQLite run five times slower).

Runtime: the full set of bad-value classes on every engine (60-90 thousand attempts each):
about one minute on SQLite and two on PostgreSQL and on MariaDB (two cores). A sample for the
servers was considered and measured: leaving out the classes the validators refuse before
storage (containers, nested structures, objects, bytes ...) saves nothing, because those
attempts never reach the database; the time goes to the attempts that do (about 20,000
executions, 4,900 of them accepted and undone), which are exactly the ones that differ
between engines. So nothing is sampled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

import attrs
import sqlalchemy as sa

from aftersales import ManualClock, SequentialIds, ServiceDesk, enroll_first_supervisor
from aftersales.adapters.sql import SqlStore
from aftersales.commands import Command
from aftersales.domain import Actor, Customer, Role
from aftersales.errors import GuardFailed
from aftersales.service import DEFAULT_PERMISSIONS, Handler, Permission, RoleBasedPolicy
from aftersales.service.commands import text, uuid
from aftersales.service.runner import Context
from aftersales.testing.fuzz import (
    BAD_VALUES,
    Fuzzer,
    FuzzReport,
    FuzzWorld,
    sql_snapshot,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BOSS = Actor(UUID(int=10_000), "Zhang Supervisor", {Role.SUPERVISOR})

# --- checkpoints of a SQL store ------------------------------------------------------------


@attrs.frozen
class Checkpoint:
    """What :meth:`SqlCheckpoints.restore` puts back: the fingerprint, every aggregate row
    (by id) and the keys of every append-only row (records, outbox, idempotency keys)."""

    fingerprint: tuple[tuple[str, int, int], ...]
    aggregates: dict[str, dict[UUID, dict[str, Any]]]
    appended: dict[str, frozenset[tuple[Any, ...]]]


class SqlCheckpoints:
    """The fuzzer's ``quick``, ``checkpoint`` and ``restore`` for a :class:`SqlStore`.

    The fingerprint is each table's row count and version sum (one statement): every commit
    adds rows or raises versions, so it sees every write through the commit path (the full
    snapshot, once per command class, sees the rest). ``restore`` undoes an accepted attempt
    in the tables whose fingerprint moved: rows appended since the checkpoint are deleted
    (records before their aggregates), aggregate rows at another version are written back.
    """

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.tables: Sequence[sa.Table] = store.schema.metadata.sorted_tables
        quote = store.engine.dialect.identifier_preparer.quote
        parts: list[str] = []
        self._keys: dict[str, tuple[str, str]] = {}
        for table in self.tables:
            name = quote(table.name)
            versions = "COALESCE(SUM(version), 0)" if "version" in table.c else "0"
            parts.append(f"SELECT '{table.name}', COUNT(*), {versions} FROM {name}")
            columns = [quote(c.name) for c in table.primary_key.columns]
            self._keys[table.name] = (
                f"SELECT {', '.join(columns)} FROM {name}",
                f"DELETE FROM {name} WHERE "
                + " AND ".join(f"{c} = :k{i}" for i, c in enumerate(columns)),
            )
        self._fingerprint = " UNION ALL ".join(parts)

    def fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        """Rows and version sum of every table."""
        with self.store.engine.connect() as conn:
            found = conn.exec_driver_sql(self._fingerprint).all()
        return tuple(sorted((str(n), int(c), int(v)) for n, c, v in found))

    def _appended(self, conn: sa.Connection, table: sa.Table) -> frozenset[tuple[Any, ...]]:
        return frozenset(tuple(row) for row in conn.exec_driver_sql(self._keys[table.name][0]))

    def checkpoint(self) -> Checkpoint:
        """The store as it is now."""
        aggregates: dict[str, dict[UUID, dict[str, Any]]] = {}
        appended: dict[str, frozenset[tuple[Any, ...]]] = {}
        with self.store.engine.connect() as conn:
            for table in self.tables:
                if "version" in table.c:
                    aggregates[table.name] = {
                        row.id: row._asdict() for row in conn.execute(sa.select(table))
                    }
                else:
                    appended[table.name] = self._appended(conn, table)
        return Checkpoint(self.fingerprint(), aggregates, appended)

    def restore(self, saved: Checkpoint) -> None:
        """Put the store back as it was at ``saved`` (after writes through commits)."""
        moved = {a[0] for a, b in zip(saved.fingerprint, self.fingerprint(), strict=True)
                 if a != b}
        with self.store.engine.begin() as conn:
            for table in self.tables:  # append-only rows first: records point at aggregates
                if table.name in moved and table.name in saved.appended:
                    extra = self._appended(conn, table) - saved.appended[table.name]
                    if extra:
                        conn.execute(sa.text(self._keys[table.name][1]),
                                     [{f"k{i}": v for i, v in enumerate(k)} for k in extra])
            for table in reversed(self.tables):
                if table.name not in moved or table.name not in saved.aggregates:
                    continue
                rows = saved.aggregates[table.name]
                versions = conn.execute(sa.select(table.c.id, table.c.version))
                now = {row.id: row.version for row in versions}
                for item_id, version in now.items():
                    if item_id not in rows:
                        conn.execute(table.delete().where(table.c.id == item_id))
                    elif rows[item_id]["version"] != version:
                        conn.execute(table.update().where(table.c.id == item_id)
                                     .values(rows[item_id]))


def sql_fuzzer(desk: ServiceDesk, store: SqlStore, **options: Any) -> Fuzzer:
    """The fuzzer wired for a SQL store: quick check, full snapshot, restore."""
    saves = SqlCheckpoints(store)
    return Fuzzer(desk, supervisor=BOSS, snapshot=lambda: sql_snapshot(store),
                  quick=saves.fingerprint, checkpoint=saves.checkpoint, restore=saves.restore,
                  **options)


def sql_desk_on(store: SqlStore, **options: Any) -> ServiceDesk:
    enroll_first_supervisor(store.unit_of_work, actor_id=BOSS.id, name=BOSS.name, at=T0)
    return ServiceDesk(store.unit_of_work, clock=ManualClock(T0, step=timedelta(seconds=1)),
                       ids=SequentialIds(), kinds=store.kinds, **options)


def findings(report: FuzzReport, *stages: str) -> list[str]:
    return [str(f) for f in report.findings if not stages or f.stage in stages]


# --- the fuzzer on every engine ----------------------------------------------------------


def test_bad_input_to_every_command_is_refused_and_changes_nothing_on_sql(
    store: SqlStore,
) -> None:
    """Every command, every field, every class of bad input, every typed method with bad
    actors: only aftersales errors, never a change, never an impossible value accepted, every
    base command valid."""
    desk = sql_desk_on(store)
    fuzzer = sql_fuzzer(desk, store)
    report = fuzzer.run()
    assert findings(report) == [], report.summary()
    assert sorted(report.commands) == sorted(c.__name__ for c in desk.handlers)
    assert len(report.commands) >= 80 and len(report.methods) >= 90
    assert report.outcomes["leaked"] == 0
    assert report.outcomes["accepted"] > 0  # plausible values reached the database ...
    refused_late = sum(n for k, n in report.outcomes.items()
                       if k.startswith("refused: ") and "building" not in k)
    assert refused_late > 5_000  # ... and so did refusals after the command was built
    assert report.attempts > 50_000


# --- the wiring can fail -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Note(Command):
    """A user command: note something on a customer file."""

    name: ClassVar[str] = "note_customer"
    customer_id: UUID = attrs.field(validator=uuid())
    remark: str = attrs.field(validator=text())


def _customer(ctx: Context, cmd: Note) -> Customer:
    return ctx.uow.customers.get(cmd.customer_id)


def _writes_behind_the_store(store: SqlStore) -> Any:
    """A handler that, for long remarks, changes an outbox row past the unit of work (in
    place: no row added, no version raised) and then refuses."""

    def run(ctx: Context, cmd: Note, target: Customer) -> Customer:
        if len(cmd.remark) > 2000:
            outbox = store.schema.outbox
            with store.engine.begin() as conn:
                conn.execute(outbox.update().where(outbox.c.aggregate_id == target.id)
                             .values(error=sa.func.coalesce(outbox.c.error, "") + "!"))
            raise GuardFailed("Customer", target.id, target.state, "note", "too long")
        return target

    return run


def test_the_sql_wiring_reports_a_refusal_that_changed_a_row_behind_the_store(
    store: SqlStore,
) -> None:
    """The quick check cannot see a row changed in place; the full snapshot at the end of the
    command class does, and the fuzzer then names the attempt (so a green run on SQL means
    something)."""
    policy = RoleBasedPolicy({**DEFAULT_PERMISSIONS,
                              "note_customer": Permission(frozenset({Role.CLERK}))})
    desk = sql_desk_on(store, authorization=policy)
    desk.register(Handler(Note, _writes_behind_the_store(store), _customer))

    def base(w: FuzzWorld) -> Command:
        return Note(actor_id=w.clerk, customer_id=w.customer, remark="called back")

    text_values = [v for v in BAD_VALUES if v.label.startswith("text ")]
    fuzzer = sql_fuzzer(desk, store, bases={Note: base}, values=text_values, populate=False)
    changed = findings(fuzzer.fuzz_commands([Note]), "changed")
    assert any("the quick check saw nothing" in f for f in changed), changed
    assert any(f.startswith("Note.remark ← text 10000 chars: changed") for f in changed), changed


def test_restore_puts_a_sql_store_back_exactly(store: SqlStore) -> None:
    """After commands that add aggregates, change others and write keys, ``restore`` gives
    back the very rows of the checkpoint; what is committed afterwards is stored again."""
    desk = sql_desk_on(store)
    world = FuzzWorld(desk, BOSS)
    saves = SqlCheckpoints(store)
    saved, before = saves.checkpoint(), sql_snapshot(store)
    world.order("delivered")
    desk.register_customer(world.clerk, name="Later Ltd", idempotency_key="k")
    desk.change_roles(BOSS, world.engineer, roles={Role.ENGINEER, Role.CLERK})
    assert sql_snapshot(store) != before and saves.fingerprint() != saved.fingerprint
    saves.restore(saved)
    assert sql_snapshot(store) == before
    again = desk.register_customer(world.clerk, name="Later Ltd", idempotency_key="k")
    with store.unit_of_work() as uow:
        assert uow.customers.get(again.id).name == "Later Ltd"  # the key was forgotten

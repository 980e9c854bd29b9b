"""A kind the package does not ship, declared here and nowhere else, passes the storage
contract suite on memory and on SQL (issue 8: "a new aggregate kind without editing any file
of the package").

``Loaner`` is a spare unit lent to a customer while theirs is at the depot: its own events, a
small workflow (available -> lent -> available, or retired), query fields of every column type
(a unique serial and a unique number with its prefix, a nullable date among the ordering
fields, a Decimal read through ``get``), registered with ``Kinds(KINDS).plus(LOANERS)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import strategies as st

from aftersales.adapters.memory import InMemoryStore
from aftersales.adapters.sql import SqlStore, create_engine
from aftersales.adapters.system import RandomIds
from aftersales.domain import CUSTOMERS, KINDS, Customer
from aftersales.domain.kernel import (
    Aggregate,
    AggregateEvent,
    AggregateKind,
    Kinds,
    QueryField,
    RecordEntry,
)
from aftersales.domain.values import Money
from aftersales.errors import ConfigurationError
from aftersales.ports import Outbox, UnitOfWork
from aftersales.testing.contracts import (
    SHIPPED_KINDS,
    AdapterHooks,
    CrossKindTests,
    KindContract,
    KindExamples,
)
from aftersales.testing.contracts.kind import ensure
from aftersales.workflows.core import Transition, Workflow, WorkflowDefinition

# --- the new kind: everything a user writes --------------------------------------------------


class LoanerState:
    """The states of the ``loaner`` workflow."""

    AVAILABLE = "available"
    LENT = "lent"
    RETIRED = "retired"


LOANER = WorkflowDefinition(
    name="loaner",
    description="A loaner unit: lent to a customer and taken back, until it is retired.",
    states=[LoanerState.AVAILABLE, LoanerState.LENT, LoanerState.RETIRED],
    initial=LoanerState.AVAILABLE,
    finals={LoanerState.RETIRED},
    transitions=[
        Transition("lend", [LoanerState.AVAILABLE], LoanerState.LENT),
        Transition("take_back", [LoanerState.LENT], LoanerState.AVAILABLE),
        Transition("retire", [LoanerState.AVAILABLE], LoanerState.RETIRED),
    ],
)
LOANER_FLOW = Workflow(LOANER, "Loaner")


@attrs.define(eq=False)
class Loaner(Aggregate):
    """A spare unit we lend while the customer's own is repaired."""

    number: str
    serial: str
    model: str
    state: str = LoanerState.AVAILABLE
    customer_id: UUID | None = None
    lent_at: datetime | None = None
    due_on: date | None = None
    deposit: Money | None = None
    loans: int = 0
    damaged: bool = False


@attrs.frozen(kw_only=True)
class LoanerEvent(AggregateEvent):
    """Base of the loaners' events (registers nothing itself)."""

    __abstract_event__ = True
    aggregate_type = "Loaner"


@attrs.frozen(kw_only=True)
class LoanerRegistered(LoanerEvent):
    number: str
    serial: str
    model: str


@attrs.frozen(kw_only=True)
class LoanerLent(LoanerEvent):
    customer_id: UUID
    due_on: date
    deposit: Money


@attrs.frozen(kw_only=True)
class LoanerReturned(LoanerEvent):
    damaged: bool


@attrs.frozen(kw_only=True)
class LoanerRetired(LoanerEvent):
    reason: str


LOANERS: AggregateKind[Loaner] = AggregateKind(
    cls=Loaner,
    entity="Loaner",
    table="loaners",
    fields=[
        QueryField("number", str, unique=True, max_length=64),
        QueryField("serial", str, unique=True, max_length=120),
        QueryField("model", str, max_length=120),
        QueryField("state", str, max_length=64),
        QueryField("customer_id", UUID),
        QueryField("lent_at", datetime),
        QueryField("due_on", date),
        QueryField("loans", int),
        QueryField("damaged", bool),
        QueryField("deposit", Decimal, get=lambda loaner: (
            loaner.deposit.amount if loaner.deposit is not None else None
        )),
    ],
    order_by=["model", "due_on"],
    number_prefix="LN",
    owner_field="customer_id",
    workflows=["loaner"],
    description="loaner units lent during depot repairs",
)
KINDS_WITH_LOANERS = Kinds(KINDS).plus(LOANERS)
_IDS = RandomIds()
_STAFF = UUID("00000000-0000-4000-8000-00000000000c")


def _step(loaner: Loaner, trigger: str, at: datetime, note: str = "") -> None:
    before, after = LOANER_FLOW.fire(loaner, trigger, loaner.number)
    loaner.record_step(at=at, actor_id=_STAFF, workflow=LOANER.name, subject_id=loaner.id,
                       action=trigger, from_state=before, to_state=after, note=note)


def register(serial: str, model: str, at: datetime) -> Loaner:
    loaner = Loaner(uuid4(), _IDS.number(str(LOANERS.number_prefix), at), serial, model)
    loaner.record_step(at=at, actor_id=_STAFF, workflow=LOANER.name, subject_id=loaner.id,
                       action="register", from_state=None, to_state=loaner.state)
    loaner.emit(LoanerRegistered, actor_id=_STAFF, at=at, number=loaner.number, serial=serial,
                model=model)
    return loaner


def lend(loaner: Loaner, customer_id: UUID, at: datetime, days: int, deposit: Money) -> None:
    _step(loaner, "lend", at, str(customer_id))
    loaner.customer_id, loaner.lent_at = customer_id, at
    loaner.due_on, loaner.deposit = at.date() + timedelta(days=days), deposit
    loaner.loans += 1
    loaner.emit(LoanerLent, actor_id=_STAFF, at=at, customer_id=customer_id,
                due_on=loaner.due_on, deposit=deposit)


def take_back(loaner: Loaner, at: datetime, damaged: bool) -> None:
    _step(loaner, "take_back", at, "damaged" if damaged else "")
    loaner.customer_id = loaner.lent_at = loaner.due_on = loaner.deposit = None
    loaner.damaged = loaner.damaged or damaged
    loaner.emit(LoanerReturned, actor_id=_STAFF, at=at, damaged=damaged)


def retire(loaner: Loaner, at: datetime, reason: str) -> None:
    _step(loaner, "retire", at, reason)
    loaner.emit(LoanerRetired, actor_id=_STAFF, at=at, reason=reason)


# --- how the contract makes and changes loaners ----------------------------------------------

_AT = datetime(2024, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
_zones = st.sampled_from([UTC, timezone(timedelta(hours=8)),
                          timezone(timedelta(hours=-5))])


class LoanerExamples(KindExamples[Loaner]):
    kind = LOANERS

    def make(self, n: int) -> list[Loaner]:
        return [register(f"LN-SN-{uuid4().hex}", "ThinkPad T14", _AT) for _ in range(n)]

    def change(self, item: Loaner, at: datetime) -> bool:
        if item.state == LoanerState.AVAILABLE:
            lend(item, uuid4(), at, 7 + item.loans, Money(Decimal("500.00"), "CNY"))
        elif item.state == LoanerState.LENT:
            take_back(item, at, damaged=item.loans % 3 == 0)
        else:
            return False
        return True

    def examples(self) -> st.SearchStrategy[Loaner]:
        @st.composite
        def build(draw: st.DrawFn) -> Loaner:
            at = draw(st.datetimes(datetime(2001, 1, 1), datetime(2070, 1, 1), timezones=_zones))
            # text a command would accept: no NUL (PostgreSQL refuses it), no lone surrogate
            serial = draw(st.text(st.characters(exclude_categories=["Cs"],
                                                exclude_characters="\x00"), max_size=8))
            loaner = register(f"{serial}{uuid4().hex}".strip() or "SN",
                              draw(st.sampled_from(["ThinkPad T14", "打印机 LJ", "X1"])), at)
            customers = draw(st.lists(st.builds(uuid4), min_size=1, max_size=2))
            for _ in range(draw(st.integers(0, 5))):
                at += timedelta(hours=draw(st.integers(1, 2000)))
                if loaner.state == LoanerState.AVAILABLE:
                    cents = draw(st.integers(0, 10**9))
                    lend(loaner, draw(st.sampled_from(customers)), at, draw(st.integers(1, 60)),
                         Money(Decimal(cents).scaleb(-2), "CNY"))
                else:
                    take_back(loaner, at, draw(st.booleans()))
            if loaner.state == LoanerState.AVAILABLE and draw(st.booleans()):
                retire(loaner, at + timedelta(days=1), draw(st.sampled_from(["broken", "旧"])))
            return loaner

        return build()

    def refer(self, uow: UnitOfWork, items: Sequence[Loaner]) -> None:
        for customer_id in {i.customer_id for i in items if i.customer_id is not None}:
            ensure(uow, CUSTOMERS, customer_id, lambda c: Customer(c, "借用客户 borrower"))


# --- the suite on memory and on SQL ----------------------------------------------------------


class _Unencodable:
    """Stands where a datetime belongs: the event can no longer be encoded."""


class _InMemory(AdapterHooks):
    """The in-memory store, holding the shipped kinds and the loaners."""

    def make_uow_factory(self) -> Callable[[], UnitOfWork]:
        self.store = InMemoryStore(kinds=KINDS_WITH_LOANERS)
        return self.store.unit_of_work

    def make_outbox(self) -> Outbox:
        return self.store.outbox()

    def tamper(self, kind: AggregateKind[Any], item_id: UUID,
               record: Sequence[RecordEntry]) -> None:
        self.store.tables[kind.table].records[item_id] = tuple(record)

    def poison(self, event_id: UUID) -> None:
        events = self.store.events
        index = next(i for i, e in enumerate(events) if e.event_id == event_id)
        broken = attrs.evolve(events[index])
        object.__setattr__(broken, "occurred_at", _Unencodable())
        events[index] = broken


_RECORD_COLUMNS = ("at", "actor_id", "workflow", "subject_id", "action", "from_state",
                   "to_state", "note", "digest")


class _OnSql(AdapterHooks):
    """A SQL store holding the shipped kinds and the loaners (set by a fixture)."""

    store: SqlStore

    def make_uow_factory(self) -> Callable[[], UnitOfWork]:
        with self.store.engine.begin() as conn:  # every test starts from empty tables
            for table in reversed(self.store.schema.metadata.sorted_tables):
                conn.execute(table.delete())
        return self.store.unit_of_work

    def make_outbox(self) -> Outbox:
        return self.store.outbox()

    def tamper(self, kind: AggregateKind[Any], item_id: UUID,
               record: Sequence[RecordEntry]) -> None:
        table = self.store.schema.record(kind)
        with self.store.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.owner_id == item_id))
            conn.execute(table.insert(), [
                {"owner_id": item_id, "sequence": e.sequence,
                 **{c: getattr(e, c) for c in _RECORD_COLUMNS}} for e in record
            ])

    def poison(self, event_id: UUID) -> None:
        outbox = self.store.schema.outbox
        with self.store.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.event_id == event_id)
                         .values(payload="[not json"))


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    """A SQLite file with the tables of the shipped kinds and the loaners."""
    engine = create_engine(Path(tmp_path_factory.mktemp("loaners")) / "loaners.db")
    store = SqlStore(engine, kinds=KINDS_WITH_LOANERS)
    store.create_all()
    yield store
    engine.dispose()


class _OnSqlite(_OnSql):
    @pytest.fixture(autouse=True)
    def _store(self, sqlite_store: SqlStore) -> None:
        self.store = sqlite_store


class TestLoanersInMemory(_InMemory, KindContract):
    kind_examples = (LoanerExamples(),)


class TestLoanersOnSqlite(_OnSqlite, KindContract):
    kind_examples = (LoanerExamples(),)


_SERVERS = {"postgres": "AFTERSALES_TEST_POSTGRES_URL", "mariadb": "AFTERSALES_TEST_MARIADB_URL"}


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{message} (CI=true: the database servers are required)")
    pytest.skip(message)


@pytest.fixture(scope="module", params=sorted(_SERVERS))
def server_store(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    """A private PostgreSQL schema or MariaDB database with every table of the shipped kinds
    and the loaners (``create_all``), dropped afterwards; skipped without a server URL."""
    url = os.environ.get(_SERVERS[request.param], "").strip()
    if not url:
        _unavailable(f"{_SERVERS[request.param]} is not set")
    name = f"aftersales_loaners_{uuid4().hex[:12]}"
    admin = sa.create_engine(url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if request.param == "postgres":
                conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
            else:
                conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    except sa.exc.DBAPIError as error:
        admin.dispose()
        _unavailable(f"{request.param} is unreachable: {error.orig}")
    if request.param == "postgres":
        engine = create_engine(url, connect_args={"options": f"-csearch_path={name}"})
        drop = f'DROP SCHEMA "{name}" CASCADE'
    else:
        engine = create_engine(sa.make_url(url).set(database=name))
        drop = f"DROP DATABASE `{name}`"
    try:
        store = SqlStore(engine, kinds=KINDS_WITH_LOANERS)
        store.create_all()
        yield store
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(drop)
        admin.dispose()


class TestLoanersOnServers(_OnSql, KindContract):
    """PostgreSQL and MariaDB (each test runs on both)."""

    kind_examples = (LoanerExamples(),)

    @pytest.fixture(autouse=True)
    def _store(self, server_store: SqlStore) -> None:
        self.store = server_store


class TestLoanersAlongsideTheShippedKindsInMemory(_InMemory, CrossKindTests):
    """One commit writes a loaner and an aggregate of every shipped kind, or none of them."""

    kind_examples = (*SHIPPED_KINDS, LoanerExamples())


class TestLoanersAlongsideTheShippedKindsOnSqlite(_OnSqlite, CrossKindTests):
    """The same on SQLite."""

    kind_examples = (*SHIPPED_KINDS, LoanerExamples())


# --- a store that was not told about the kind ------------------------------------------------


def test_a_store_without_the_kind_refuses_its_repository() -> None:
    """The shipped set does not hold loaners: asking for their repository is a
    ConfigurationError, not a silent drop of their writes."""
    with InMemoryStore().unit_of_work() as uow, pytest.raises(ConfigurationError):
        uow.repository(LOANERS)


def test_the_kinds_refuse_a_second_kind_with_a_shipped_table() -> None:
    """A kind declared under a table a shipped kind uses cannot join the set."""
    clash = attrs.evolve(LOANERS, table="customers", entity="Impostor")
    with pytest.raises(ConfigurationError):
        Kinds(KINDS).plus(clash)

"""The base of :class:`~aftersales.testing.repair_stateful.RepairDeskStateMachine`: the
desks under test and their policies (the extension points), the actors, the clock, the
lookups the rules share and the snapshot a refused command must leave unchanged.

Part of :mod:`aftersales.testing.repair_stateful`: import from there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import ClassVar
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine

from aftersales.adapters.memory import InMemoryStore
from aftersales.adapters.system import ManualClock, SequentialIds
from aftersales.domain.kernel import Aggregate
from aftersales.domain.parts import Stock
from aftersales.domain.records import Actor, Customer, Equipment
from aftersales.domain.repair import OutsourcedRepair, RepairOrder, RepairPolicy, Vendor
from aftersales.domain.values import Role
from aftersales.domain.warranty import WarrantyPolicy
from aftersales.errors import AftersalesError
from aftersales.ports import AuthorizationPolicy, Clock, IdGenerator
from aftersales.service.authorization import RoleBasedPolicy
from aftersales.service.desk import ServiceDesk
from aftersales.service.records import enroll_first_supervisor
from aftersales.service.repairs import RepairDesk
from aftersales.testing import repair_strategies as rst
from aftersales.testing import strategies
from aftersales.testing.repair_oracle import FINISHED, RepairOracle
from aftersales.testing.repair_stateful.tables import _CHINA, _ROLE_KEY, _STOCK_COMMANDS, _Snapshot
from aftersales.workflows import Workflow

__all__ = ["RepairMachineBase"]


class RepairMachineBase(RepairOracle, RuleBasedStateMachine):
    """The wiring of the repair desk machine: the service and repair desks under test on
    the in-memory store, their policies (the ``make_*`` extension points), the actors,
    the vendors, the stock location and the clock."""

    #: Commands this machine never issues (RepairDesk method names).
    excluded_commands: ClassVar[frozenset[str]] = frozenset()
    #: Commands taken whenever the workflow offers them on the natural path.
    preferred_commands: ClassVar[frozenset[str]] = frozenset()
    #: At most this many repair orders per run.
    max_orders: ClassVar[int] = 3
    #: Where the manual clock starts (China Standard Time, like the seed documents).
    start: ClassVar[datetime] = datetime(2026, 11, 23, 9, 0, tzinfo=_CHINA)
    #: How far the manual clock moves after each command the machine issues.
    command_takes: ClassVar[timedelta] = timedelta(minutes=7)
    #: Installation dates drawn for the units besides the edges of coverage (recent: in
    #: warranty; old: out; None: no date, the production date counts).
    unit_installed_on: ClassVar[tuple[date | None, ...]] = (
        date(2026, 6, 1), date(2023, 1, 10), None,
    )
    #: The ids of the repair orders at the depot, which the rules act on.
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.clock: Clock = self.make_clock()
        self.ids: IdGenerator = self.make_ids()
        self.repair_policy: RepairPolicy = self.make_repair_policy()
        self.warranty_policy: WarrantyPolicy = self.make_warranty_policy()
        self.authorization: AuthorizationPolicy = self.make_authorization()
        self.store = InMemoryStore()
        self.supervisor = enroll_first_supervisor(
            self.store.unit_of_work, actor_id=UUID(int=1), name="主管 Zhou",
            at=self.clock.now(),
        )
        self.desk = self.make_desk(self.store, clock=self.clock, ids=self.ids)
        self.repairs = self.make_repair_desk(self.desk)
        register = self.desk.register_actor
        self.clerk = register(self.supervisor, name="文员 Li", roles={Role.CLERK})
        self.rep = register(self.supervisor, name="客户代表 Sun", roles={Role.CUSTOMER_REP})
        self.engineers = (
            register(self.supervisor, name="工程师 Wang", roles={Role.ENGINEER}),
            register(self.supervisor, name="Engineer Chen", roles={Role.ENGINEER}),
        )
        self.engineer = self.engineers[0]
        self.customers: list[Customer] = []
        self.customer_actors: dict[UUID, Actor] = {}
        self.units: list[Equipment] = []
        self.vendors: list[Vendor] = []
        self.location: Stock | None = None
        self.records: dict[UUID, tuple[object, ...]] = {}
        #: Instants the clock must not pass (:meth:`time_passes` stops short of them): when an
        #: order is to be ready (an R16 edge) or a unit to come back (an R21 edge).
        self.deadlines: dict[tuple[str, UUID], datetime] = {}
        #: True while the machine runs a plain repair (our parts only, R22 guarantee kept).
        self.plain = False
        #: True while a unit that came back after a pick-up is diagnosed (R21).
        self.returning = False
        #: How often each command succeeded / was refused (handy for ``event()`` statistics).
        self.outcomes: Counter[str] = Counter()

    # --- extension points ------------------------------------------------------------------

    def make_repair_policy(self) -> RepairPolicy:
        """The R13-R16, R21-R23 policy of the repair desk (default: :class:`RepairPolicy`)."""
        return RepairPolicy()

    def make_warranty_policy(self) -> WarrantyPolicy:
        """The R20 policy the desk uses (default: 12 months, installation then invoice)."""
        return WarrantyPolicy()

    def make_authorization(self) -> AuthorizationPolicy:
        """The R30 policy of the desks (default: :class:`RoleBasedPolicy` with
        :data:`~aftersales.service.authorization.DEFAULT_PERMISSIONS`)."""
        return RoleBasedPolicy()

    def make_clock(self) -> Clock:
        """The clock: by default a :class:`ManualClock` at :attr:`start` that moves only when
        the machine moves it, so the oracle knows the time of every command."""
        return ManualClock(self.start)

    def make_ids(self) -> IdGenerator:
        """The id generator; deterministic by default so failures replay exactly."""
        return SequentialIds(start=1000)

    def make_desk(self, store: InMemoryStore, *, clock: Clock, ids: IdGenerator) -> ServiceDesk:
        """The service desk the repair desk builds on, on ``store``, with
        :attr:`warranty_policy` and :attr:`authorization`."""
        return ServiceDesk(store.unit_of_work, clock=clock, ids=ids, kinds=store.kinds,
                           warranty_policy=self.warranty_policy,
                           authorization=self.authorization)

    def make_repair_desk(self, desk: ServiceDesk) -> RepairDesk:
        """The repair desk under test, with :attr:`repair_policy`."""
        return RepairDesk(desk, policy=self.repair_policy, authorization=self.authorization)

    def start_times(self) -> st.SearchStrategy[datetime]:
        """When a run starts: :attr:`start`, or (half the time) shortly before a
        daylight-saving change in Europe/Berlin or America/New_York after it, so that the
        first jobs run across the change (R16 measures them in absolute time)."""
        year = self.start.year
        later = strategies.before_dst_changes(years=(year, year + 2)).filter(
            lambda at: at > self.start
        )
        return st.one_of(st.just(self.start), later)

    def check_extra_invariants(self, order: RepairOrder) -> None:
        """Your own invariant on every committed order, after every step (no-op here)."""

    # --- helpers ---------------------------------------------------------------------------

    def now(self) -> datetime:
        """The time the next command runs at (the clock does not move while it runs)."""
        return self.clock.now()

    def workflows(self) -> Mapping[str, Workflow]:
        """The desk's workflows by name (the oracle reads their definitions)."""
        return self.repairs.settings.workflows

    def _tick(self) -> None:
        if isinstance(self.clock, ManualClock):
            self.clock.advance(self.command_takes)

    def _jump(self, moment: datetime) -> None:
        """Move the manual clock forward to ``moment`` (never back)."""
        if isinstance(self.clock, ManualClock) and moment > self.clock.now():
            self.clock.set(moment)

    def commands(self) -> list[str]:
        """Every command this machine may issue."""
        every = (*rst.DEPOT_COMMANDS, *rst.OUTSOURCED_COMMANDS, *_STOCK_COMMANDS)
        return [c for c in dict.fromkeys(every) if c not in self.excluded_commands]

    def actor_for(self, key: str, order: RepairOrder) -> Actor:
        """The actor behind one of :data:`REPAIR_ACTOR_KEYS`, relative to ``order``."""
        fixed = {"clerk": self.clerk, "supervisor": self.supervisor, "customer_rep": self.rep}
        if key in fixed:
            return fixed[key]
        if key in ("engineer", "other_engineer"):
            assigned = next((e for e in self.engineers if e.id == order.engineer_id),
                            self.engineers[0])
            if key == "engineer":
                return assigned
            return next(e for e in self.engineers if e is not assigned)
        own = self.customer_actors[order.customer_id]
        if key == "customer":
            return own
        return next(a for a in self.customer_actors.values() if a is not own)

    def natural_actor(self, command: str, order: RepairOrder) -> Actor:
        """The actor who would normally issue ``command``."""
        role = rst.NATURAL_REPAIR_ROLE.get(command, Role.CLERK)
        return self.actor_for(_ROLE_KEY[role], order)

    def _stock(self) -> Stock:
        assert self.location is not None
        return self.store.stock[self.location.id]

    def _outsourced(self, order: RepairOrder) -> OutsourcedRepair | None:
        if not order.outsourced_ids:
            return None
        return self.store.outsourced.get(order.outsourced_ids[-1])

    def _reservations(self, order: RepairOrder, *, open_only: bool = False) -> list[UUID]:
        return [r.id for r in self._stock().reservations_for(order.id)
                if r.open or not open_only]

    def _free_units(self) -> list[Equipment]:
        busy = {o.equipment_id for o in self.store.repairs.values() if o.state not in FINISHED}
        return [u for u in self.units if u.id not in busy]

    def snapshot(self) -> _Snapshot:
        """The committed state a refused command must not change."""
        store = self.store
        aggregates = {
            (kind.table, key): (id(item), item.version)
            for kind in store.kinds for key, item in store.committed(kind).items()
        }
        return _Snapshot(aggregates, len(store.events), len(store.idempotency_keys))

    def _expect_unchanged(self, before: _Snapshot, what: str, error: AftersalesError) -> None:
        after = self.snapshot()
        assert after.events == before.events, f"refused {what} ({error}) added events"
        assert after.aggregates == before.aggregates, (
            f"refused {what} ({error}) added, removed or changed an aggregate"
        )
        assert after.keys == before.keys, f"refused {what} ({error}) stored a key"

    def _subjects(self, order: RepairOrder) -> list[Aggregate]:
        store = self.store
        found: list[Aggregate] = [store.repairs[order.id], store.requests[order.request_id]]
        found += [r for r in store.outsourced.values() if r.order_id == order.id]
        return found

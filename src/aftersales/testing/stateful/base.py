"""The base of :class:`~aftersales.testing.stateful.ServiceDeskStateMachine`: the desk
under test and its policies (the extension points), the actors, the clock, and the
snapshot a refused command must leave unchanged.

Part of :mod:`aftersales.testing.stateful`: import from there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine

from aftersales.adapters.memory import InMemoryStore
from aftersales.adapters.system import ManualClock, SequentialIds
from aftersales.domain.kernel import Aggregate
from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import Actor, Customer, Equipment
from aftersales.domain.request import ServiceRequest
from aftersales.domain.values import Impact, Priority, Role, Urgency
from aftersales.domain.warranty import Exclusion, WarrantyDetermination, WarrantyPolicy
from aftersales.errors import AftersalesError
from aftersales.ports import AuthorizationPolicy, Clock, IdGenerator
from aftersales.service.authorization import RoleBasedPolicy
from aftersales.service.desk import ServiceDesk
from aftersales.service.records import enroll_first_supervisor
from aftersales.testing import oracle, strategies
from aftersales.testing.oracle import Coverage
from aftersales.testing.stateful.tables import _CHINA, DESK_COMMANDS, _Sent, _Snapshot
from aftersales.workflows import Workflow

__all__ = ["DeskMachineBase"]


class DeskMachineBase(RuleBasedStateMachine):
    """The wiring of the service desk machine: the desk under test on the in-memory
    store, its policies (the ``make_*`` extension points), the actors and the clock."""

    #: Commands this machine never issues (names of :data:`DESK_COMMANDS`).
    excluded_commands: ClassVar[frozenset[str]] = frozenset()
    #: At most this many requests per run.
    max_requests: ClassVar[int] = 3
    #: Where the manual clock starts (China Standard Time, like the seed documents).
    start: ClassVar[datetime] = datetime(2026, 11, 23, 9, 0, tzinfo=_CHINA)
    #: How far the manual clock moves after each command the machine issues.
    command_takes: ClassVar[timedelta] = timedelta(minutes=7)
    #: The ids of the registered requests, which the rules act on.
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.clock: Clock = self.make_clock()
        self.ids: IdGenerator = self.make_ids()
        self.priority_matrix: PriorityMatrix = self.make_priority_matrix()
        self.warranty_policy: WarrantyPolicy = self.make_warranty_policy()
        self.authorization: AuthorizationPolicy = self.make_authorization()
        self.store = InMemoryStore()
        self.supervisor = enroll_first_supervisor(
            self.store.unit_of_work, actor_id=UUID(int=1), name="主管 Zhou",
            at=self.clock.now(),
        )
        self.desk = self.make_desk(self.store, clock=self.clock, ids=self.ids)
        register = self.desk.register_actor
        self.clerk = register(self.supervisor, name="文员 Li", roles={Role.CLERK})
        self.rep = register(self.supervisor, name="客户代表 Sun", roles={Role.CUSTOMER_REP})
        self.engineers = (
            register(self.supervisor, name="工程师 Wang", roles={Role.ENGINEER}),
            register(self.supervisor, name="Engineer Chen", roles={Role.ENGINEER}),
        )
        self.customers: list[Customer] = []
        self.customer_actors: dict[UUID, Actor] = {}
        self.units: list[Equipment] = []
        self.records: dict[UUID, tuple[object, ...]] = {}
        self.versions: dict[UUID, int] = {}
        self.sent: list[_Sent] = []
        self.keys: dict[tuple[UUID, str, str], Any] = {}
        #: How often each command succeeded / was refused (handy for ``event()`` statistics).
        self.outcomes: Counter[str] = Counter()

    # --- extension points ------------------------------------------------------------------

    def make_priority_matrix(self) -> PriorityMatrix:
        """The R8 matrix the desk uses (default: :class:`PriorityMatrix`'s ITIL table)."""
        return PriorityMatrix()

    def make_warranty_policy(self) -> WarrantyPolicy:
        """The R20 policy the desk uses (default: 12 months, installation then invoice)."""
        return WarrantyPolicy()

    def make_authorization(self) -> AuthorizationPolicy:
        """The R30 authorization policy (default: :class:`RoleBasedPolicy`)."""
        return RoleBasedPolicy()

    def make_clock(self) -> Clock:
        """The clock: by default a :class:`ManualClock` at :attr:`start` that moves only when
        the machine moves it (after each command, and in :meth:`time_passes`), so the oracle
        knows the time of every command."""
        return ManualClock(self.start)

    def make_ids(self) -> IdGenerator:
        """The id generator; deterministic by default so failures replay exactly."""
        return SequentialIds(start=1000)

    def make_desk(self, store: InMemoryStore, *, clock: Clock, ids: IdGenerator) -> ServiceDesk:
        """The desk under test, on ``store``, with :attr:`priority_matrix`,
        :attr:`warranty_policy` and :attr:`authorization` (from the ``make_*`` methods)."""
        return ServiceDesk(
            store.unit_of_work, clock=clock, ids=ids, authorization=self.authorization,
            priority_matrix=self.priority_matrix, warranty_policy=self.warranty_policy,
            kinds=store.kinds,
        )

    def start_times(self) -> st.SearchStrategy[datetime]:
        """When a run starts: :attr:`start`, or (now and then) an instant near a
        daylight-saving change in Europe/Berlin or America/New_York after it."""
        year = self.start.year
        later = strategies.dst_datetimes(years=(year, year + 2)).filter(
            lambda at: at > self.start
        )
        return st.one_of(st.just(self.start), st.just(self.start), later)

    def check_extra_invariants(self, request: ServiceRequest) -> None:
        """Your own invariant on every committed request, after every step (no-op here)."""

    def check_warranty_determination(
        self, unit: Equipment, findings: list[Any], determination: WarrantyDetermination
    ) -> None:
        """Your own check of each warranty answer the desk gives (no-op here)."""

    def expected_priority(self, impact: Impact, urgency: Urgency) -> Priority:
        """R8: the priority a request must get: the cell of :attr:`priority_matrix`'s table."""
        return self.priority_matrix.table[(impact, urgency)]

    def expected_coverage(
        self, unit: Equipment, day: date, findings: list[Exclusion]
    ) -> Coverage:
        """R20: the coverage :attr:`warranty_policy`'s parameters give ``unit`` on ``day``
        (see :func:`aftersales.testing.oracle.expected_coverage`), with its owner's plans."""
        plans = [p for p in self.store.plans.values() if p.customer_id == unit.owner_id]
        return oracle.expected_coverage(self.warranty_policy, unit, day, findings, plans)

    def expect_permission(self, actor: Actor, action: str, target: Aggregate | None) -> bool:
        """R30: may ``actor`` do ``action`` on ``target`` under :attr:`authorization`? (read
        from its permission table: :func:`aftersales.testing.oracle.permitted`)."""
        kind = self.store.kinds.of(target) if target is not None else None
        return oracle.permitted(self.authorization, actor, action, target, kind)

    # --- helpers ---------------------------------------------------------------------------

    def commands(self) -> list[str]:
        """The commands this machine issues."""
        return [c for c in DESK_COMMANDS if c not in self.excluded_commands]

    def workflows(self) -> Mapping[str, Workflow]:
        """The desk's workflows by name (the oracle reads their definitions)."""
        return self.desk.settings.workflows

    def actor_for(self, key: str, request: ServiceRequest) -> Actor:
        """The actor behind one of :data:`ACTOR_KEYS`, relative to ``request``."""
        fixed = {"clerk": self.clerk, "supervisor": self.supervisor, "customer_rep": self.rep}
        if key in fixed:
            return fixed[key]
        if key in ("assigned_engineer", "other_engineer"):
            assigned = next((e for e in self.engineers if e.id == request.engineer_id), None)
            if key == "assigned_engineer":
                return assigned or self.engineers[0]
            return next(e for e in self.engineers if e is not assigned)
        own = self.customer_actors[request.customer_id]
        if key == "customer":
            return own
        return next(a for a in self.customer_actors.values() if a is not own)

    def natural_actor(self, command: str, request: ServiceRequest) -> Actor:
        """The actor who would normally issue ``command`` under the R30 defaults."""
        role = strategies.NATURAL_ROLE[command]
        key = {
            Role.CLERK: "clerk", Role.SUPERVISOR: "supervisor", Role.CUSTOMER: "customer",
        }.get(role, "assigned_engineer")
        return self.actor_for(key, request)

    def now(self) -> datetime:
        """The time the next command runs at (the clock does not move while it runs)."""
        return self.clock.now()

    def _tick(self) -> None:
        if isinstance(self.clock, ManualClock):
            self.clock.advance(self.command_takes)

    def snapshot(self) -> _Snapshot:
        """The committed state a refused command must not change."""
        store = self.store
        aggregates = {
            (kind.table, key): (id(item), item.version)
            for kind in store.kinds for key, item in store.committed(kind).items()
        }
        return _Snapshot(aggregates, len(store.events),
                         store.events[-1] if store.events else None,
                         len(store.idempotency_keys))

    def _expect_unchanged(self, before: _Snapshot, what: str, error: AftersalesError) -> None:
        after = self.snapshot()
        assert (after.events, after.last_event) == (before.events, before.last_event), (
            f"refused {what} ({error}) changed store.events"
        )
        assert after.aggregates == before.aggregates, (
            f"refused {what} ({error}) added, removed or changed an aggregate"
        )
        assert after.keys == before.keys, f"refused {what} ({error}) stored a key"

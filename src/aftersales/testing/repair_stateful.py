"""A stateful Hypothesis test of the repair desk that users can point at their own policies.

:class:`RepairDeskStateMachine` brings units of service requests to the depot and drives
random sequences of :class:`~aftersales.service.repairs.RepairDesk` commands, issued by random
actors (the clerk, an engineer, the supervisor, a customer representative, the order's
customer, another customer), through depot repair (R13), outsourced repair (R14) and spare
parts (R28) on the in-memory adapter. After every step it checks:

- R13: no order is delivered without a QC that passed after its last repair step;
- R13/R22: no chargeable repair starts or goes to a vendor without the customer's approval of
  the current estimate, and every approval comes from the customer or staff on their behalf;
- R22/R25: a settled amount equals the approved estimate plus the approved additions minus
  the discount (zero when free, the diagnosis fee when unrepaired), and every discount was
  authorized by a supervisor;
- R14: a unit is never at two vendors at once (nor in two live outsourced repairs);
- R28: every reservation of a closed order is issued or released; stock levels agree with the
  reservations and never go negative;
- R13 seam: the request of a delivered, returned or replaced order is no longer waiting for
  the depot;
- R9: every order's and outsourced repair's record only grows and replays to its state; each
  aggregate's events are numbered 1, 2, 3 ... without gaps;
- a refused command (any :class:`~aftersales.errors.AftersalesError`) changes nothing: the
  order, every outsourced repair, stock location, request and vendor (identity and version),
  the catalogue, the idempotency keys and ``store.events``.

Any other exception propagates: it is a bug. Subclass it to plug in your own policies::

    class MyRepairFlows(RepairDeskStateMachine):
        def make_repair_policy(self) -> RepairPolicy:
            return RepairPolicy(max_vendor_attempts=2)

    TestMyRepairFlows = MyRepairFlows.TestCase
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from aftersales.adapters.memory import InMemoryStore
from aftersales.adapters.system import ManualClock, SequentialIds
from aftersales.domain import repair_events as rev
from aftersales.domain.events import Event
from aftersales.domain.parts import Part, PartOrigin, PartSource, Stock
from aftersales.domain.records import Customer, Equipment
from aftersales.domain.repair import (
    DepotState,
    EstimateStatus,
    OutsourcedRepair,
    OutsourcedState,
    RepairOrder,
    RepairPolicy,
    Vendor,
)
from aftersales.domain.request import RequestState
from aftersales.domain.values import Actor, Money, Role
from aftersales.domain.warranty import WarrantyPolicy
from aftersales.errors import AftersalesError
from aftersales.ports import AuthorizationPolicy, Clock, IdGenerator
from aftersales.service.desk import ServiceDesk
from aftersales.service.repairs import RepairDesk
from aftersales.testing import repair_strategies as rst
from aftersales.testing import strategies
from aftersales.workflows.depot import verify_repair_record
from aftersales.workflows.outsourced import verify_outsourced_record

__all__ = ["REPAIR_ACTOR_KEYS", "RepairDeskStateMachine"]

#: Who may issue a command in the machine: keys of :meth:`RepairDeskStateMachine.actor_for`.
REPAIR_ACTOR_KEYS: tuple[str, ...] = (
    "clerk", "engineer", "supervisor", "customer_rep", "customer", "other_customer",
)

_CHINA = timezone(timedelta(hours=8))
_SKUS = ("VR-1", "SSD-1")
_ROLE_KEY = {
    Role.CLERK: "clerk", Role.ENGINEER: "engineer", Role.SUPERVISOR: "supervisor",
    Role.CUSTOMER_REP: "customer_rep", Role.CUSTOMER: "customer",
}
#: Record actions that count as a repair step (a later QC must pass before delivery).
_REPAIR_STEPS = frozenset({
    "start_repair", "record_repair_work", "fit_part", "resume_repair", "finish_repair",
    "rework", "receive_from_vendor",
})
_FINISHED = (DepotState.DELIVERED, DepotState.RETURNED, DepotState.REPLACED, DepotState.CLOSED)
_OUT_LIVE = (OutsourcedState.OPENED, OutsourcedState.VENDOR_CHOSEN, OutsourcedState.AT_VENDOR,
             OutsourcedState.RETURNED, OutsourcedState.VENDOR_FAILED)
_STOCK_COMMANDS = (*rst.PARTS_COMMANDS, "receive_stock")


@attrs.frozen
class _Snapshot:
    """What a refused command must leave untouched."""

    target: dict[str, Any] | None
    aggregates: dict[UUID, tuple[int, int]]
    parts: tuple[str, ...]
    keys: int
    events: int


class RepairDeskStateMachine(RuleBasedStateMachine):
    """Random command sequences through a :class:`RepairDesk`, invariants after each step.

    Extension points (override in a subclass):

    - :meth:`make_repair_policy`, :meth:`make_warranty_policy`, :meth:`make_authorization`,
      :meth:`make_clock`, :meth:`make_ids`, :meth:`make_desk` and :meth:`make_repair_desk`
      wire the desks under test;
    - :meth:`check_extra_invariants` adds your own checks on every order after every step;
    - :attr:`excluded_commands` removes commands (e.g. no outsourcing),
      :attr:`preferred_commands` are taken whenever the workflow offers them (e.g. always
      send to a vendor), :attr:`max_orders` bounds the orders of one run and
      :attr:`unit_installed_on` the equipment's dates.

    Run it with ``TestRepairs = RepairDeskStateMachine.TestCase``.
    """

    #: Commands this machine never issues (RepairDesk method names).
    excluded_commands: ClassVar[frozenset[str]] = frozenset()
    #: Commands taken whenever the workflow offers them on the natural path.
    preferred_commands: ClassVar[frozenset[str]] = frozenset()
    #: At most this many repair orders per run.
    max_orders: ClassVar[int] = 3
    #: Where the manual clock starts (China Standard Time, like the seed documents).
    start: ClassVar[datetime] = datetime(2026, 11, 23, 9, 0, tzinfo=_CHINA)
    #: Installation dates drawn for the units (recent: in warranty; old: out; None: no date).
    unit_installed_on: ClassVar[tuple[date | None, ...]] = (
        date(2026, 6, 1), date(2023, 1, 10), None,
    )

    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.clock: Clock = self.make_clock()
        self.ids: IdGenerator = self.make_ids()
        self.store = InMemoryStore()
        self.supervisor = Actor(UUID(int=1), "主管 Zhou", frozenset({Role.SUPERVISOR}))
        self.store.actors[self.supervisor.id] = self.supervisor
        self.desk = self.make_desk(self.store, clock=self.clock, ids=self.ids)
        self.repairs = self.make_repair_desk(self.desk)
        register = self.desk.register_actor
        self.clerk = register(self.supervisor, name="文员 Li", roles={Role.CLERK})
        self.rep = register(self.supervisor, name="客户代表 Sun", roles={Role.CUSTOMER_REP})
        self.engineer = register(self.supervisor, name="工程师 Wang", roles={Role.ENGINEER})
        self.customers: list[Customer] = []
        self.customer_actors: dict[UUID, Actor] = {}
        self.units: list[Equipment] = []
        self.vendors: list[Vendor] = []
        self.location: Stock | None = None
        self.records: dict[UUID, tuple[object, ...]] = {}
        #: How often each command succeeded / was refused (handy for ``event()`` statistics).
        self.outcomes: Counter[str] = Counter()

    # --- extension points ------------------------------------------------------------------

    def make_repair_policy(self) -> RepairPolicy:
        """The R13-R16, R21-R23 policy of the repair desk (default: :class:`RepairPolicy`)."""
        return RepairPolicy()

    def make_warranty_policy(self) -> WarrantyPolicy:
        """The R20 policy the desk uses (default: 12 months, installation then invoice)."""
        return WarrantyPolicy()

    def make_authorization(self) -> AuthorizationPolicy | None:
        """The R30 policy of the repair desk (None: the desk's table plus
        :data:`~aftersales.service.repairs.REPAIR_PERMISSIONS`)."""
        return None

    def make_clock(self) -> Clock:
        """The clock; by default a :class:`ManualClock` from :attr:`start`, 7 min per read."""
        return ManualClock(self.start, timedelta(minutes=7))

    def make_ids(self) -> IdGenerator:
        """The id generator; deterministic by default so failures replay exactly."""
        return SequentialIds(start=1000)

    def make_desk(self, store: InMemoryStore, *, clock: Clock, ids: IdGenerator) -> ServiceDesk:
        """The service desk the repair desk builds on, on ``store``."""
        return ServiceDesk(store.unit_of_work, clock=clock, ids=ids,
                           warranty_policy=self.make_warranty_policy())

    def make_repair_desk(self, desk: ServiceDesk) -> RepairDesk:
        """The repair desk under test."""
        return RepairDesk(desk, policy=self.make_repair_policy(),
                          authorization=self.make_authorization())

    def check_extra_invariants(self, order: RepairOrder) -> None:
        """Your own invariant on every committed order, after every step (no-op here)."""

    # --- helpers ---------------------------------------------------------------------------

    def commands(self) -> list[str]:
        """Every command this machine may issue."""
        every = (*rst.DEPOT_COMMANDS, *rst.OUTSOURCED_COMMANDS, *_STOCK_COMMANDS)
        return [c for c in dict.fromkeys(every) if c not in self.excluded_commands]

    def actor_for(self, key: str, order: RepairOrder) -> Actor:
        """The actor behind one of :data:`REPAIR_ACTOR_KEYS`, relative to ``order``."""
        fixed = {"clerk": self.clerk, "engineer": self.engineer, "supervisor": self.supervisor,
                 "customer_rep": self.rep}
        if key in fixed:
            return fixed[key]
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

    def natural_commands(self, order: RepairOrder) -> list[str]:
        """The commands that move ``order`` along a plausible path (guards mostly hold)."""
        d = DepotState
        state = order.state
        found: list[str] = []
        if state is d.INTAKE:
            found = ["sign_intake"]
        elif state is d.DIAGNOSING:
            if not order.diagnosed:
                found = ["diagnose"]
            elif order.replacement_justified:
                found = ["offer_replacement", "start_repair"]
            elif order.chargeable:
                found = ["send_estimate"]
            else:
                found = ["start_repair", "send_to_vendor", "declare_unrepairable"]
        elif state is d.AWAITING_APPROVAL:
            found = ["approve_estimate", "approve_estimate", "approve_estimate",
                     "decline_estimate", "reopen_diagnosis"]
        elif state is d.APPROVED:
            found = ["start_repair", "start_repair", "send_to_vendor", "receive_deposit"]
        elif state is d.REPAIRING:
            found = ["finish_repair", "finish_repair", "record_repair_work", "fit_part",
                     "reserve_parts", "wait_for_parts", "send_to_vendor"]
            if order.chargeable:
                found += ["propose_additional_work", "reopen_diagnosis"]
            if self._reservations(order, open_only=True):
                found.append("issue_part")
        elif state is d.WAITING_FOR_PARTS:
            if order.parts_available:
                found = ["resume_repair"]
            else:
                found = ["reserve_parts", "receive_stock"]
        elif state is d.ADDITIONAL_WORK_PENDING:
            found = ["approve_additional_work", "decline_additional_work"]
        elif state is d.AT_VENDOR:
            found = self._natural_outsourced(order)
        elif state is d.QUALITY_CHECK:
            found = ["mark_ready"] if order.qc_passed_after_last_repair else ["record_qc"]
        elif state is d.READY_FOR_PICKUP:
            # §9: the customer may say the job is not right, before or after paying
            found = ["settle", "apply_discount", "rework"] if order.unsettled else [
                "deliver", "deliver", "rework"
            ]
        elif state in (d.DECLINED, d.UNREPAIRABLE, d.REPLACEMENT_OFFERED):
            if order.unsettled:
                found = ["settle", "settle", "apply_discount"]
            elif state is d.REPLACEMENT_OFFERED:
                found = ["accept_replacement", "return_unrepaired"]
            else:
                found = ["return_unrepaired"]
            if state is d.UNREPAIRABLE and order.replacement_justified:
                found.append("offer_replacement")
        elif state in (d.DELIVERED, d.RETURNED, d.REPLACED):
            found = ["release_parts"] if self._reservations(order, open_only=True) else [
                "close_order"
            ]
        preferred = [c for c in found if c in self.preferred_commands]
        if preferred:
            return preferred
        return [c for c in found if c not in self.excluded_commands]

    def _natural_outsourced(self, order: RepairOrder) -> list[str]:
        repair = self._outsourced(order)
        if repair is None:
            return []
        o = OutsourcedState
        if repair.state in (o.OPENED,):
            return ["choose_vendor"]
        if repair.state is o.VENDOR_CHOSEN:
            return ["ship_to_vendor"]
        if repair.state is o.AT_VENDOR:
            return ["vendor_returned", "vendor_returned", "vendor_returned", "chase_vendor",
                    "record_vendor_failure"]
        if repair.state is o.RETURNED:
            if repair.reinspection_passed:
                return ["back_to_depot"]
            return ["reinspect", "reinspect", "record_vendor_failure"]
        if repair.state is o.VENDOR_FAILED:
            if repair.attempts_left:
                return ["choose_vendor", "choose_vendor", "give_up_outsourcing",
                        "offer_replacement_after_vendors"]
            return ["give_up_outsourcing", "offer_replacement_after_vendors"]
        return []

    def draw_arguments(
        self, data: st.DataObject, command: str, order: RepairOrder, actor: Actor, *,
        valid: bool,
    ) -> dict[str, Any]:
        """Keyword arguments for ``command`` on ``order`` (the target included, as
        ``_target``); with ``valid=False`` texts may be blank, amounts and dates wrong and
        ids unknown."""
        text = strategies.non_blank_texts(max_size=16) if valid else strategies.texts(max_size=6)

        def draw(strategy: st.SearchStrategy[Any], label: str) -> Any:
            return data.draw(strategy, label=f"{command}.{label}")

        def texts(*fields: str) -> dict[str, Any]:
            return {f: draw(text, f) for f in fields}

        def customer_name(field: str) -> dict[str, Any]:
            if actor.has(Role.CUSTOMER) and draw(st.booleans(), f"{field} omitted"):
                return {}
            return {field: draw(strategies.names() if valid else text, field)}

        def later(base: datetime, low: int = 1, high: int = 24 * 10) -> datetime:
            if not valid and draw(st.booleans(), "in the past"):
                return base - timedelta(hours=1)
            return base + timedelta(hours=draw(st.integers(low, high), "hours later"))

        def amount(correct: Money) -> Money:
            if valid:
                return correct
            wrong = draw(st.sampled_from(["plus one", "other currency", "correct"]), "amount")
            if wrong == "plus one":
                return Money(correct.amount + 1, correct.currency)
            if wrong == "other currency":
                return Money(correct.amount or Decimal(1), "USD")
            return correct

        def some_id(valid_ids: list[UUID]) -> UUID:
            if valid and valid_ids:
                picked: UUID = draw(st.sampled_from(valid_ids), "id")
                return picked
            return UUID(int=draw(st.integers(0, 10**6), "unknown id"))

        repair = self._outsourced(order)
        target: UUID = order.id
        if command in rst.OUTSOURCED_COMMANDS:
            target = repair.id if repair is not None else some_id([])
        elif command in _STOCK_COMMANDS:
            target = self._stock().id if valid or draw(st.booleans(), "known location") else (
                some_id([])
            )
        now = self.clock.now()
        args: dict[str, Any] = {"_target": target}
        sku = draw(st.sampled_from(_SKUS if valid else (*_SKUS, "NO-SUCH-SKU")), "sku")
        if command in ("sign_intake", "deliver", "return_unrepaired"):
            args |= texts("signed_by")
        elif command == "diagnose":
            args |= texts("fault", "cause")
            args["fault_class"] = draw(rst.fault_classes(), "fault_class")
            args["fault_kind"] = draw(rst.fault_kinds(), "fault_kind")
            args["findings"] = draw(strategies.exclusion_lists(max_size=1)
                                    if draw(st.integers(0, 4), "with findings") == 0
                                    else st.just([]), "findings")
            args["fault_code"] = draw(st.sampled_from(["MB-1", "SW-1"]), "fault_code")
        elif command == "reopen_diagnosis":
            args |= texts("reason")
            args["kind"] = draw(rst.reopen_kinds(), "kind")
        elif command in ("send_estimate", "propose_additional_work"):
            args["lines"] = draw(rst.estimate_line_lists(skus=_SKUS, max_size=2), "lines")
            if command == "propose_additional_work":
                args |= texts("reason")
                args["new_promised_at"] = later(order.promised_at)
        elif command in ("approve_estimate", "approve_additional_work"):
            args |= customer_name("approved_by")
        elif command in ("decline_estimate", "decline_additional_work"):
            args |= customer_name("declined_by")
            if command == "decline_estimate":
                args |= texts("reason")
        elif command == "start_repair":
            args["note"] = draw(strategies.texts(max_size=6), "note")
        elif command == "record_repair_work":
            args |= texts("description")
            args["wipes_data"] = draw(st.booleans(), "wipes_data")
        elif command == "fit_part":
            args["sku"] = sku
            source = draw(rst.part_sources(), "source")
            args["source"] = source
            if source is PartSource.CUSTOMER:
                args |= texts("description")
                args["origin"] = draw(rst.part_origins(), "origin")
            args["customer_insisted"] = draw(st.booleans(), "customer_insisted")
            args["old_part"] = draw(st.none() | rst.old_part_dispositions(), "old_part")
        elif command == "receive_deposit":
            due = order.deposit_required.amount - order.deposit_paid.amount
            args["amount"] = amount(Money(max(due, Decimal(50)), order.currency))
        elif command == "wait_for_parts":
            args |= texts("reason")
            args["needed"] = {sku: draw(st.integers(1, 2), "needed")} if valid else {}
        elif command == "reserve_parts":
            missing = order.missing_parts
            if missing and valid:
                sku = draw(st.sampled_from(sorted(missing)), "missing sku")
            args.update(location_id=self._stock().id, sku=sku,
                        quantity=missing.get(sku, draw(st.integers(1, 2), "quantity")))
        elif command == "finish_repair":
            args |= texts("summary")
        elif command in ("record_qc", "reinspect"):
            checklist = repair.qc_checklist if command == "reinspect" and repair else (
                order.qc_checklist
            )
            passing = draw(st.integers(0, 3), "passing") != 0 if valid else None
            answers = draw(rst.qc_answers(checklist, passing=passing), "results")
            if not valid and draw(st.booleans(), "drop an item"):
                answers.pop(checklist[0])
            args["results"] = answers
        elif command == "rework":
            args |= texts("reason")
        elif command == "record_progress_check":
            args |= texts("note")
        elif command == "notify_delay":
            args |= texts("reason", "apology")
            args["new_promised_at"] = later(order.promised_at)
        elif command == "mark_ready":
            args["pickup_at"] = later(now, 5, 72) if valid else now
        elif command == "apply_discount":
            due = order.gross_due().amount
            cut = draw(st.integers(1, max(1, int(due))), "discount") if valid else int(due) + 1
            args["amount"] = Money(Decimal(cut), order.currency)
            args |= texts("reason")
            args["authorized_by"] = self.supervisor if valid or draw(
                st.booleans(), "by the supervisor") else self.clerk
        elif command == "settle":
            args["amount"] = amount(order.amount_due())
            args["paid"] = draw(st.booleans(), "paid")
        elif command == "accept_replacement":
            args |= texts("serial", "signed_by")
        elif command == "declare_unrepairable":
            args |= texts("reason")
        elif command == "offer_replacement":
            args |= texts("model")
        elif command == "send_to_vendor":
            args |= texts("reason")
            args["beyond_local_ability"] = draw(st.integers(0, 3), "beyond_local_ability") != 0
            args["maker_warranty"] = draw(st.none() | st.booleans(), "maker_warranty")
        elif command == "choose_vendor":
            failed = repair.failed_vendor_ids if repair is not None else frozenset()
            pool = [v.id for v in self.vendors if v.id not in failed]
            args["vendor_id"] = some_id(pool)
            args["capability"] = draw(st.sampled_from([None, "laptop"]), "capability")
        elif command == "ship_to_vendor":
            args |= texts("carrier", "tracking_number", "voucher")
            args["promised_by"] = later(now, 24, 24 * 10)
        elif command == "chase_vendor":
            args |= texts("response")
            args["new_promised_by"] = draw(st.none() | st.just(later(now, 24, 240)),
                                           "new_promised_by")
        elif command == "vendor_returned":
            args |= texts("vendor_report")
        elif command in ("record_vendor_failure", "give_up_outsourcing"):
            args |= texts("reason")
        elif command == "offer_replacement_after_vendors":
            args |= texts("reason", "model")
        elif command in ("issue_part", "release_parts", "report_dead_on_arrival"):
            held = self._stock().reservations_for(order.id)
            if command == "report_dead_on_arrival":
                ids = [r.id for r in held if r.issued > 0]
            else:
                ids = [r.id for r in held if r.open]
            args["reservation_id"] = some_id(ids)
        elif command == "return_defective_part":
            args.update(order_id=order.id, sku=sku)
        elif command == "receive_stock":
            missing = order.missing_parts
            if missing and valid:
                sku = draw(st.sampled_from(sorted(missing)), "missing sku")
            args.update(sku=sku, quantity=draw(st.integers(1, 3) if valid
                                               else st.integers(-1, 3), "quantity"))
        return args

    def snapshot(self, target: RepairOrder | None = None) -> _Snapshot:
        """The committed state a refused command must not change."""
        store = self.store
        aggregates: dict[UUID, tuple[int, int]] = {}
        for family in (store.repairs, store.outsourced, store.stock, store.requests,
                       store.vendors):
            for key, item in family.items():
                aggregates[key] = (id(item), item.version)
        current = store.repairs.get(target.id) if target is not None else None
        return _Snapshot(
            attrs.asdict(current, recurse=True) if current is not None else None,
            aggregates, tuple(store.parts), len(store.idempotency_keys), len(store.events),
        )

    def _expect_unchanged(self, before: _Snapshot, what: str, error: AftersalesError,
                          target: RepairOrder | None = None) -> None:
        after = self.snapshot(target)
        assert after.events == before.events, f"refused {what} ({error}) added events"
        assert after.aggregates == before.aggregates, (
            f"refused {what} ({error}) added, removed or changed an aggregate"
        )
        assert (after.parts, after.keys) == (before.parts, before.keys), (
            f"refused {what} ({error}) changed the catalogue or the idempotency keys"
        )
        assert after.target == before.target, f"refused {what} ({error}) changed the order"

    def run_command(
        self, command: str, actor: Actor, order: RepairOrder, arguments: dict[str, Any]
    ) -> object | None:
        """Issue one repair desk command; a refusal must change nothing (then ``None``)."""
        args = dict(arguments)
        target = args.pop("_target")
        before = self.snapshot(order)
        method: Callable[..., object] = getattr(self.repairs, command)
        try:
            result = method(actor, target, **args)
        except AftersalesError as error:
            self._expect_unchanged(before, f"{command} by {actor.name}", error, order)
            self.outcomes[f"{command}: refused ({type(error).__name__})"] += 1
            return None
        self.outcomes[f"{command}: done"] += 1
        return result

    def _advance(self, order_id: UUID, data: st.DataObject) -> None:
        order = self.store.repairs[order_id]
        natural = self.natural_commands(order)
        if not natural:
            self._attempt(order_id, data)
            return
        if data.draw(st.integers(0, 7), label="detour") == 0:
            offered = rst.depot_candidates(order)
            repair = self._outsourced(order)
            if repair is not None and order.state is DepotState.AT_VENDOR:
                offered += rst.outsourced_candidates(repair)
            natural = [c for c in offered if c not in self.excluded_commands] or natural
        command = data.draw(st.sampled_from(natural), label="command")
        actor = self.natural_actor(command, order)
        arguments = self.draw_arguments(data, command, order, actor, valid=True)
        self.run_command(command, actor, order, arguments)

    def _attempt(self, order_id: UUID, data: st.DataObject) -> None:
        order = self.store.repairs[order_id]
        command = data.draw(st.sampled_from(self.commands()), label="command")
        actor = self.actor_for(data.draw(st.sampled_from(REPAIR_ACTOR_KEYS), label="actor"),
                               order)
        valid = data.draw(st.booleans(), label="valid arguments")
        arguments = self.draw_arguments(data, command, order, actor, valid=valid)
        self.run_command(command, actor, order, arguments)

    # --- rules -----------------------------------------------------------------------------

    @initialize(target=orders, data=st.data())
    def open_the_files(self, data: st.DataObject) -> Any:
        """Two customers with a login and a unit each (R1, R2), three vendors (R14), two
        parts (one a disk) in the catalogue and a warehouse with some stock (R28), and the
        first unit at the depot."""
        for index in range(2):
            customer = self.desk.register_customer(
                self.clerk, name=data.draw(strategies.names(), label="customer name")
            )
            self.customers.append(customer)
            self.customer_actors[customer.id] = self.desk.register_actor(
                self.supervisor, name=f"客户 {index} {customer.name}"[:40],
                roles={Role.CUSTOMER}, customer_id=customer.id,
            )
            installed = data.draw(st.sampled_from(self.unit_installed_on), label="installed_on")
            self.units.append(self.desk.register_equipment(
                self.clerk, serial=f"SN-{index + 1}", model="X200", owner_id=customer.id,
                installed_on=installed,
                produced_on=date(2026, 1, 5) if installed is None else None,
            ))
        for name in ("联想 station", "Dell depot", "Third-party lab"):
            self.vendors.append(self.repairs.register_vendor(
                self.supervisor, name=name, contact="0755-1234",
                capabilities=("laptop",) if name != "Dell depot" else ("desktop",),
            ))
        for sku, disk in zip(_SKUS, (False, True), strict=True):
            self.repairs.add_part(self.clerk, Part(
                sku, f"part {sku}", PartOrigin.OEM, Money(Decimal(300), "CNY"),
                supplier_id=self.vendors[0].id, storage_media=disk,
            ))
        self.location = self.repairs.open_stock_location(self.supervisor, name="Main warehouse")
        for sku in _SKUS:
            quantity = data.draw(st.integers(0, 2), label=f"stock of {sku}")
            if quantity:
                self.repairs.receive_stock(self.clerk, self.location.id, sku=sku,
                                           quantity=quantity)
        return self._bring(data)

    def _free_units(self) -> list[Equipment]:
        busy = {o.equipment_id for o in self.store.repairs.values() if o.state not in _FINISHED}
        return [u for u in self.units if u.id not in busy]

    def _bring(self, data: st.DataObject) -> Any:
        free = self._free_units()
        if not free or data.draw(st.integers(0, 5), label="a busy unit") == 0:
            free = self.units
        unit = data.draw(st.sampled_from(free), label="unit")
        assert unit.owner_id is not None
        request = self.desk.register_request(self.clerk, customer_id=unit.owner_id,
                                             summary="不开机 no power", equipment_id=unit.id)
        self.desk.assign(self.clerk, request.id, engineer_id=self.engineer.id)
        self.desk.start_remote(self.engineer, request.id)
        self.desk.hand_to_depot(self.engineer, request.id, reason="hardware fault")
        intake = data.draw(rst.intakes(), label="intake")
        promised = self.clock.now() + timedelta(hours=data.draw(st.integers(4, 24 * 6),
                                                                label="promised in hours"))
        before = self.snapshot()
        try:
            order = self.repairs.receive_at_depot(self.clerk, request.id, intake=intake,
                                                  promised_at=promised)
        except AftersalesError as error:
            self._expect_unchanged(before, "receive_at_depot", error)
            self.outcomes["receive_at_depot: refused"] += 1
            return multiple()
        self.outcomes["receive_at_depot: done"] += 1
        return order.id

    @precondition(lambda self: len(self.store.repairs) < self.max_orders
                  and bool(self._free_units()))
    @rule(target=orders, data=st.data())
    def bring_a_unit(self, data: st.DataObject) -> Any:
        """R13: another request's unit arrives (refused while the unit is at the depot)."""
        return self._bring(data)

    @rule(order=orders, data=st.data())
    def advance(self, order: UUID, data: st.DataObject) -> None:
        """A command that moves the order on, by the actor who normally issues it."""
        self._advance(order, data)

    @rule(order=orders, data=st.data())
    def advance_further(self, order: UUID, data: st.DataObject) -> None:
        """Several :meth:`advance` steps in a row, so that runs reach delivery and closing."""
        for _ in range(data.draw(st.integers(min_value=1, max_value=12), label="steps")):
            self._advance(order, data)

    @rule(order=orders, data=st.data())
    def attempt_anything(self, order: UUID, data: st.DataObject) -> None:
        """Any command by any actor, arguments possibly invalid: a refusal changes nothing."""
        self._attempt(order, data)

    @rule(order=orders, key=st.sampled_from(REPAIR_ACTOR_KEYS))
    def look_at_the_order(self, order: UUID, key: str) -> None:
        """Reading an order changes nothing; another customer may not see it (R30)."""
        committed = self.store.repairs[order]
        actor = self.actor_for(key, committed)
        before = self.snapshot(committed)
        try:
            seen = self.repairs.get_order(actor, order)
        except AftersalesError as error:
            self._expect_unchanged(before, f"get_order by {actor.name}", error, committed)
            assert key == "other_customer", f"{actor.name} may not view an order: {error}"
            return
        assert key != "other_customer", "R30: a customer saw another customer's order"
        assert seen.version == committed.version
        assert self.snapshot(committed) == before, "reading an order changed the store"

    @rule()
    def look_at_the_return_ledger(self) -> None:
        """R14: the return ledger lists exactly the units now at a vendor."""
        lines = self.repairs.return_ledger(self.clerk)
        at_vendor = {r.id for r in self.store.outsourced.values()
                     if r.state is OutsourcedState.AT_VENDOR}
        assert {line.outsourced_id for line in lines} == at_vendor

    @rule(hours=st.integers(min_value=1, max_value=24 * 20))
    def time_passes(self, hours: int) -> None:
        """The manual clock moves on (when the clock is a :class:`ManualClock`)."""
        if isinstance(self.clock, ManualClock):
            self.clock.advance(timedelta(hours=hours))

    # --- invariants ------------------------------------------------------------------------

    def _events(self) -> dict[UUID, list[Event]]:
        by_aggregate: dict[UUID, list[Event]] = {}
        for event in self.store.events:
            by_aggregate.setdefault(event.aggregate_id, []).append(event)
        return by_aggregate

    @invariant()
    def r9_records_are_append_only_and_replay(self) -> None:
        """R9: old records are prefixes of new ones and replay to the current states."""
        subjects: list[tuple[Any, Callable[[Any], list[str]]]] = [
            *((o, verify_repair_record) for o in self.store.repairs.values()),
            *((r, verify_outsourced_record) for r in self.store.outsourced.values()),
        ]
        for subject, verify in subjects:
            record = tuple(subject.record)
            old = self.records.get(subject.id, ())
            assert record[: len(old)] == old, f"R9: the record of {subject.id} was rewritten"
            problems = verify(subject)
            assert not problems, f"R9: the record of {subject.id} does not replay: {problems}"
            self.records[subject.id] = record

    @invariant()
    def r9_events_are_numbered_without_gaps(self) -> None:
        """Each order's, outsourced repair's and stock location's events run 1, 2, 3 ..."""
        events = self._events()
        for family in (self.store.repairs, self.store.outsourced, self.store.stock):
            for key, aggregate in family.items():
                numbers = [e.sequence for e in events.get(key, [])]
                assert numbers == list(range(1, aggregate.event_sequence + 1)), (
                    f"events of {key} are numbered {numbers}"
                )

    @invariant()
    def r13_no_delivery_without_a_passed_qc_after_the_last_repair(self) -> None:
        """R13: before each delivery, a QC passed after the last repair step."""
        for order in self.store.repairs.values():
            last_repair = last_pass = -1
            for index, entry in enumerate(order.record):
                if entry.action in _REPAIR_STEPS:
                    last_repair = index
                elif entry.action == "record_qc" and entry.note == "passed":
                    last_pass = index
                elif entry.action == "deliver":
                    assert last_pass > last_repair >= 0, (
                        f"R13: {order.number} delivered without a QC passed after the last "
                        "repair step"
                    )

    @invariant()
    def r22_no_chargeable_work_without_the_customers_approval(self) -> None:
        """R13/R22: replaying each order's events, a chargeable repair starts (or goes to a
        vendor) only while the customer's approval of the current estimate stands; approvals
        come from the order's customer or from staff on their behalf."""
        events = self._events()
        for order in self.store.repairs.values():
            free = approved = False
            for event in events.get(order.id, []):
                if isinstance(event, rev.WarrantyDetermined):
                    free, approved = event.free_reason is not None, False
                elif isinstance(event, rev.EstimateApproved | rev.AdditionalWorkApproved):
                    who = self.store.actors[event.actor_id]
                    assert who.roles & {Role.CLERK, Role.CUSTOMER_REP} or (
                        who.customer_id == order.customer_id
                    ), f"R30: {who.name} approved an estimate of {order.number}"
                    if isinstance(event, rev.EstimateApproved):
                        approved = True
                elif isinstance(event, rev.DiagnosisReopened | rev.EstimateDeclined):
                    approved = False
                elif isinstance(event, rev.RepairStarted | rev.SentToVendor):
                    assert free or approved, (
                        f"R22: {order.number}: chargeable {event.name} without approval"
                    )

    @invariant()
    def r25_settled_amount_matches_the_approved_work(self) -> None:
        """R22/R25: settled = approved estimate + approved additions − discount (zero when
        free, the diagnosis fee when unrepaired); discounts are authorized by supervisors."""
        for order in self.store.repairs.values():
            discount = order.discount
            if discount is not None:
                approver = self.store.actors[discount.authorized_by]
                assert approver.has(Role.SUPERVISOR), (
                    f"R22: {order.number} discount authorized by {approver.name}"
                )
            if order.settlement is None:
                continue
            zero = Money.zero(order.currency)
            if order.unrepaired_reason is not None:
                gross = order.diagnosis_fee or zero
            elif order.free_reason is not None:
                gross = zero
            else:
                gross = zero
                for estimate in order.estimates:
                    if estimate.status is EstimateStatus.APPROVED:
                        gross = gross + estimate.total
            expected = gross - discount.amount if discount is not None else gross
            assert order.settlement.total == expected, (
                f"R25: {order.number} settled {order.settlement.total}, the approved work "
                f"less discount is {expected}"
            )

    @invariant()
    def r14_a_unit_is_never_at_two_vendors(self) -> None:
        """R14: per unit, at most one live outsourced repair; attempts stay bounded."""
        live: Counter[UUID] = Counter()
        for repair in self.store.outsourced.values():
            assert len(repair.attempts) <= repair.max_attempts
            if repair.state in _OUT_LIVE:
                live[repair.equipment_id] += 1
        assert all(n <= 1 for n in live.values()), f"R14: a unit is out twice: {live}"

    @invariant()
    def r28_stock_agrees_and_closed_orders_hold_no_parts(self) -> None:
        """R28: levels never negative, reserved = what open reservations hold; a closed
        order has no open reservation."""
        for stock in self.store.stock.values():
            held: Counter[str] = Counter()
            for reservation in stock.reservations.values():
                assert reservation.remaining >= 0
                held[reservation.sku] += reservation.remaining
                order = self.store.repairs.get(reservation.order_id)
                if order is not None and order.state is DepotState.CLOSED:
                    assert not reservation.open, (
                        f"R28: {order.number} closed holding {reservation.remaining} × "
                        f"{reservation.sku}"
                    )
            for sku, level in stock.levels.items():
                assert 0 <= level.reserved <= level.on_hand, f"R28: {sku} level {level}"
                assert level.reserved == held[sku], f"R28: {sku} reserved {level} vs {held}"

    @invariant()
    def r13_finished_orders_resolve_their_request(self) -> None:
        """R13 seam: the request of a delivered, returned or replaced order is resolved."""
        for order in self.store.repairs.values():
            if order.state in _FINISHED:
                request = self.store.requests[order.request_id]
                assert request.state is not RequestState.HANDED_TO_DEPOT, (
                    f"{order.number} is {order.state}, its request still waits for the depot"
                )

    @invariant()
    def extra_invariants_hold(self) -> None:
        """Runs :meth:`check_extra_invariants` on every committed order."""
        for order in self.store.repairs.values():
            self.check_extra_invariants(order)

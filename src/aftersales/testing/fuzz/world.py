"""The world a fuzz run (or a test) is set up in: staff, customers, parts, and
fixtures that make a request, repair order or outsourced repair in any stage."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from aftersales.domain.parts import PartOrigin, PartSource
from aftersales.domain.records import Actor
from aftersales.domain.repair import (
    DataHandling,
    EstimateBasis,
    EstimateLine,
    FaultClass,
    FaultKind,
    Intake,
    LineKind,
)
from aftersales.domain.values import Money, Role
from aftersales.service.desk import ServiceDesk
from aftersales.service.repairs import RepairDesk
from aftersales.service.runner import actor_id_of

H = timedelta(hours=1)
D = timedelta(days=1)



_REQUEST_STEPS: dict[str, tuple[str, ...]] = {
    "registered": (),
    "routed": ("route",),
    "assigned": ("assign",),
    "remote": ("assign", "start_remote"),
    "planned": ("assign", "start_onsite"),
    "awaiting_approval": ("assign", "start_onsite", "confirm_need"),
    "approved": ("assign", "start_onsite", "confirm_need", "approve"),
    "preparing": ("assign", "start_onsite", "confirm_need", "approve", "prepare"),
    "travelling": ("assign", "start_onsite", "confirm_need", "approve", "prepare", "depart"),
    "on_site": ("assign", "start_onsite", "confirm_need", "approve", "prepare", "depart",
                "arrive"),
    "consultation": ("assign", "start_onsite", "confirm_need", "approve", "prepare", "depart",
                     "arrive", "consult"),
    "emergency": ("assign", "start_onsite", "confirm_need", "emergency"),
    "resolved": ("assign", "start_remote", "resolve"),
    "confirmed": ("assign", "start_remote", "resolve", "confirm"),
    "closed": ("assign", "start_remote", "resolve", "confirm", "close"),
    "handed_to_depot": ("assign", "start_remote", "depot"),
    "rejected": ("reject",),
    "cancelled": ("assign", "cancel"),
}

#: The stages :meth:`FuzzWorld.order` and :meth:`FuzzWorld.outsourced` can make.
ORDER_STAGES = ("intake", "diagnosing", "diagnosed", "awaiting_approval", "approved",
                "repairing", "waiting_for_parts", "parts_reserved", "additional_work_pending",
                "quality_check", "qc_passed", "ready_for_pickup", "settled", "delivered",
                "closed", "unrepairable", "unrepairable_settled", "replacement_offered")
OUTSOURCED_STAGES = ("opened", "vendor_chosen", "at_vendor", "returned", "reinspected",
                     "failed_at_vendor", "vendor_failed")


_REQUEST_STAGES = tuple(_REQUEST_STEPS)


class FuzzWorld:
    """A world on a desk for fuzzing and for tests: staff of every role, two customers with a
    contact each, vendors, two catalogue parts, a stocked warehouse and a deactivated actor;
    and fixtures that make, each time they are called, a fresh request, repair order,
    outsourced repair or reservation in a given state (so a command gets a target of its
    own).

    ``supervisor`` must be an active supervisor of the desk's directory. Everything is made
    through the desk's typed methods, so it works on any storage.
    """

    def __init__(
        self, desk: ServiceDesk, supervisor: Actor | UUID, *, repairs: RepairDesk | None = None,
    ) -> None:
        self.desk = desk
        self.repairs = repairs or RepairDesk(desk)
        self.boss = actor_id_of(supervisor)
        self.tag = desk.ids.new_id().hex[-8:].upper()
        self.kind_of: dict[UUID, str] = {}
        self._serials = itertools.count(1)
        boss = self.boss
        self.clerk = self.actor("Fuzz Clerk", Role.CLERK)
        self.rep = self.actor("Fuzz Rep", Role.CUSTOMER_REP)
        self.engineer = self.actor("Fuzz Engineer", Role.ENGINEER)
        self.engineer2 = self.actor("Fuzz Engineer Two", Role.ENGINEER)
        self.customer = self._note(desk.register_customer(self.clerk, name="Fuzz Trading").id,
                                   "customer")
        self.other_customer = self._note(
            desk.register_customer(self.clerk, name="Other Trading").id, "customer")
        self.contact = self.actor("Mr Fuzz", Role.CUSTOMER, customer_id=self.customer)
        self.stranger = self.actor("Ms Other", Role.CUSTOMER, customer_id=self.other_customer)
        self.retired = self.actor("Former Clerk", Role.CLERK)
        desk.deactivate_actor(boss, self.retired, reason="left the company")
        self.vendors = [
            self._note(self.repairs.register_vendor(
                boss, name=name, contact="0755-1234", capabilities=("laptop",)).id, "vendor")
            for name in ("Fuzz station", "Fuzz lab", "Fuzz works")
        ]
        self.sku = f"FZ-{self.tag}-VR"
        self.disk_sku = f"FZ-{self.tag}-SSD"
        self.repairs.add_part(self.clerk, sku=self.sku, name="voltage regulator",
                              origin=PartOrigin.OEM, unit_price=self.money(120),
                              warranty_months=6, supplier_id=self.vendors[0])
        self.repairs.add_part(self.clerk, sku=self.disk_sku, name="512 GB SSD",
                              origin=PartOrigin.OEM, unit_price=self.money(399),
                              supplier_id=self.vendors[0], storage_media=True)
        self.warehouse = self.location()
        self.unit_id = self.unit()

    # --- basics ------------------------------------------------------------------------

    def _note(self, item_id: UUID, kind: str) -> UUID:
        self.kind_of[item_id] = kind
        return item_id

    def actor(self, name: str, role: Role, *, customer_id: UUID | None = None) -> UUID:
        """A new active actor with one role."""
        actor = self.desk.register_actor(self.boss, name=name, roles={role},
                                         customer_id=customer_id)
        return self._note(actor.id, "actor")

    @property
    def currency(self) -> str:
        """The desk's repair currency."""
        return self.desk.repair_policy.currency

    def money(self, amount: int | str) -> Money:
        """``amount`` in the desk's currency."""
        return Money(Decimal(amount), self.currency)

    def now(self) -> datetime:
        """The desk clock's time."""
        return self.desk.clock.now()

    def today(self) -> date:
        """Today in the repair policy's zone."""
        return self.now().astimezone(self.desk.repair_policy.zone).date()

    def other_kind_id(self, value: Any) -> UUID:
        """An existing id of another kind than ``value``'s (never an actor's for an actor
        field, so a substitution cannot act as somebody else)."""
        kind = self.kind_of.get(value) if isinstance(value, UUID) else None
        if kind == "actor":
            return self.customer
        return self.other_customer if kind != "customer" else self.vendors[0]

    # --- fixtures -------------------------------------------------------------------------

    def unit(self, *, in_warranty: bool = True, owner: UUID | None = None) -> UUID:
        """A new unit of the customer, installed 60 days ago (in warranty) or ten years ago."""
        serial = f"FZ-{self.tag}-{next(self._serials)}"
        age = timedelta(days=60) if in_warranty else timedelta(days=3650)
        unit = self.desk.register_equipment(
            self.clerk, serial=serial, model="Fuzzbook", owner_id=owner or self.customer,
            installed_on=self.today() - age,
        )
        return self._note(unit.id, "equipment")

    def location(self) -> UUID:
        """A new warehouse holding plenty of both parts."""
        stock = self.repairs.open_stock_location(self.boss, name=f"Fuzz warehouse {self.tag}")
        for sku in (self.sku, self.disk_sku):
            self.repairs.receive_stock(self.clerk, stock.id, sku=sku, quantity=100_000)
        return self._note(stock.id, "stock")

    def request(self, stage: str = "registered", *, in_warranty: bool = True) -> UUID:
        """A new request of the customer (for a new unit) driven to ``stage`` (one of
        ``registered, routed, assigned, remote, planned, awaiting_approval, approved,
        preparing, travelling, on_site, consultation, emergency, resolved, confirmed,
        closed, handed_to_depot, rejected, cancelled``)."""
        desk, clerk, eng = self.desk, self.clerk, self.engineer
        unit = self.unit(in_warranty=in_warranty)
        rid = self._note(desk.register_request(clerk, customer_id=self.customer,
                                               summary="printer down", equipment_id=unit).id,
                         "request")
        later = self.now() + 2 * D
        steps: dict[str, Callable[[], object]] = {
            "route": lambda: desk.route(clerk, rid, department="printers"),
            "assign": lambda: desk.assign(clerk, rid, engineer_id=eng),
            "start_remote": lambda: desk.start_remote(eng, rid),
            "start_onsite": lambda: desk.start_onsite(eng, rid, promised_at=later),
            "confirm_need": lambda: desk.confirm_need(eng, rid),
            "approve": lambda: desk.approve_dispatch(self.boss, rid),
            "emergency": lambda: desk.dispatch_emergency(eng, rid, reason="line down"),
            "prepare": lambda: desk.prepare(eng, rid),
            "depart": lambda: desk.depart(eng, rid),
            "arrive": lambda: desk.record_arrival(eng, rid),
            "consult": lambda: desk.call_consultation(eng, rid, reason="odd fault"),
            "resolve": lambda: desk.resolve(eng, rid, resolution="fixed"),
            "confirm": lambda: desk.confirm(self.contact, rid),
            "close": lambda: desk.close(clerk, rid),
            "depot": lambda: desk.hand_to_depot(eng, rid, reason="bench repair"),
            "reject": lambda: desk.reject(clerk, rid, reason="not our product"),
            "cancel": lambda: desk.cancel(clerk, rid, reason="customer withdrew"),
        }
        for step in _REQUEST_STEPS[stage]:
            steps[step]()
        return rid

    def intake_form(self) -> Intake:
        """An intake form (wipe allowed)."""
        return Intake(appearance="scratch on lid", configuration="i5/16G/512G",
                      accessories=("charger",), data_handling=DataHandling.WIPE_ALLOWED)

    def labour(self, amount: int = 150) -> EstimateLine:
        """A labour line."""
        return EstimateLine(EstimateBasis.SYMPTOM, "no power", "replace regulator",
                            LineKind.LABOUR, self.money(amount))

    def part_line(self, amount: int = 300) -> EstimateLine:
        """A line for the catalogue part."""
        return EstimateLine(EstimateBasis.ITEM, "mainboard", "voltage regulator", LineKind.PART,
                            self.money(amount), sku=self.sku, source=PartSource.OURS,
                            origin=PartOrigin.OEM)

    def fault_code(self) -> str:
        """A fault code of the policy's catalogue."""
        return sorted(self.desk.repair_policy.fault_codes.codes_for(""))[0]

    def order(self, stage: str = "diagnosing", *, chargeable: bool = False) -> UUID:
        """A new repair order driven to ``stage``: ``intake, diagnosing, diagnosed,
        awaiting_approval, approved, repairing, waiting_for_parts, parts_reserved,
        additional_work_pending, quality_check, qc_passed, ready_for_pickup, settled,
        delivered, closed, unrepairable, unrepairable_settled, replacement_offered``
        (:data:`ORDER_STAGES`). A chargeable
        order is for a unit out of warranty (its estimate is approved on the way to
        ``repairing`` and later stages)."""
        r, eng, clerk = self.repairs, self.engineer, self.clerk
        request = self.request("handed_to_depot", in_warranty=not chargeable)
        oid = self._note(r.receive_at_depot(
            clerk, request, intake=self.intake_form(), promised_at=self.now() + 3 * D).id,
            "order")
        if stage == "intake":
            return oid
        r.sign_intake(clerk, oid, signed_by="Mr Fuzz")
        if stage == "diagnosing":
            return oid
        r.diagnose(eng, oid, fault="no power", cause="regulator", fault_class=FaultClass.QUALITY,
                   fault_kind=FaultKind.HARDWARE, fault_code=self.fault_code())
        if stage == "diagnosed":
            return oid
        if stage in ("unrepairable", "unrepairable_settled", "replacement_offered"):
            r.declare_unrepairable(eng, oid, reason="board obsolete")
            if stage == "unrepairable_settled":
                r.settle(clerk, oid, amount=r.get_order(clerk, oid).amount_due())
            if stage == "replacement_offered":
                r.offer_replacement(self.boss, oid, model="Fuzzbook 2")
            return oid
        if chargeable:
            r.send_estimate(eng, oid, lines=[self.labour(), self.part_line()])
            if stage == "awaiting_approval":
                return oid
            r.approve_estimate(self.contact, oid)
            if stage == "approved":
                return oid
        r.start_repair(eng, oid)
        if stage == "repairing":
            return oid
        if stage in ("waiting_for_parts", "parts_reserved"):
            r.wait_for_parts(eng, oid, needed={self.sku: 1}, reason="regulator on order")
            if stage == "parts_reserved":
                r.reserve_parts(eng, oid, location_id=self.warehouse, sku=self.sku)
            return oid
        if stage == "additional_work_pending":
            promised = r.get_order(clerk, oid).promised_at
            r.propose_additional_work(eng, oid, lines=[self.labour(80)], reason="fan worn",
                                      new_promised_at=promised + D)
            return oid
        r.finish_repair(eng, oid, summary="replaced the regulator")
        if stage == "quality_check":
            return oid
        checklist = r.get_order(clerk, oid).qc_checklist
        r.record_qc(eng, oid, results=dict.fromkeys(checklist, True))
        if stage == "qc_passed":
            return oid
        r.mark_ready(clerk, oid, pickup_at=self.now() + 6 * H)
        if stage == "ready_for_pickup":
            return oid
        r.settle(clerk, oid, amount=r.get_order(clerk, oid).amount_due())
        if stage == "settled":
            return oid
        r.deliver(clerk, oid, signed_by="Mr Fuzz")
        if stage == "delivered":
            return oid
        r.close_order(clerk, oid)
        if stage == "closed":
            return oid
        raise ValueError(f"unknown order stage {stage!r}")

    def outsourced(self, stage: str = "opened") -> UUID:
        """A new outsourced repair (of an in-warranty order) driven to ``stage``: ``opened,
        vendor_chosen, at_vendor, returned, reinspected, failed_at_vendor, vendor_failed``
        (:data:`OUTSOURCED_STAGES`)."""
        r, clerk, eng = self.repairs, self.clerk, self.engineer
        oid = self.order("diagnosed")
        sid = self._note(r.send_to_vendor(eng, oid, reason="panel").id, "outsourced")
        if stage == "opened":
            return sid
        r.choose_vendor(clerk, sid, vendor_id=self.vendors[0], capability="laptop")
        if stage == "vendor_chosen":
            return sid
        r.ship_to_vendor(clerk, sid, carrier="SF Express", tracking_number="SF1",
                         voucher="voucher 7781", promised_by=self.now() + 5 * D)
        if stage == "at_vendor":
            return sid
        if stage in ("failed_at_vendor", "vendor_failed"):
            r.record_vendor_failure(clerk, sid, reason="no parts")
            if stage == "vendor_failed":
                r.failed_unit_returned(clerk, sid)
            return sid
        r.vendor_returned(clerk, sid, vendor_report="replaced the panel")
        if stage == "returned":
            return sid
        checklist = r.get_outsourced(clerk, sid).qc_checklist
        r.reinspect(eng, sid, results=dict.fromkeys(checklist, True))
        if stage == "reinspected":
            return sid
        raise ValueError(f"unknown outsourced stage {stage!r}")

    def populate(self) -> None:
        """One request in every stage, one repair order (free and chargeable) in every
        stage, one outsourced repair in every stage and a reservation issued and not (so
        that every command runs against a store holding every reachable state)."""
        for stage in _REQUEST_STAGES:
            self.request(stage)
        priced = ("awaiting_approval", "approved")  # only a chargeable order gets there
        for stage in ORDER_STAGES:
            if stage not in priced:
                self.order(stage)
            if stage in (*priced, "ready_for_pickup", "delivered"):
                self.order(stage, chargeable=True)
        for stage in OUTSOURCED_STAGES:
            self.outsourced(stage)
        self.reservation()
        self.reservation(issued=True)

    def reservation(self, *, issued: bool = False) -> tuple[UUID, UUID]:
        """A new repairing order holding one part at the warehouse: (order, reservation)."""
        oid = self.order("repairing")
        held = self.repairs.reserve_parts(self.engineer, oid, location_id=self.warehouse,
                                          sku=self.sku)
        if issued:
            self.repairs.issue_part(self.engineer, self.warehouse, reservation_id=held.id)
        return oid, held.id

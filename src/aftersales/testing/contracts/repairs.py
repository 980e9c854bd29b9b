"""Examples of depot repair orders (R13) and outsourced repairs (R14): opened at intake, then
moved along free, chargeable, declined, reopened, vendor, failed-vendor and unrepairable paths
by the real depot and outsourced steps (estimates, deposits, parts needed and reserved, QC,
promise changes, settlement, delivery)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID, uuid4, uuid5

import attrs
from hypothesis import strategies as st

from aftersales.domain.parts import PartOrigin, PartSource, Reservation
from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import Equipment
from aftersales.domain.repair import (
    OUTSOURCED_REPAIRS,
    REPAIR_ORDERS,
    VENDORS,
    DataHandling,
    EstimateBasis,
    EstimateLine,
    FaultClass,
    FaultKind,
    Intake,
    LineKind,
    OutsourcedRepair,
    ReopenKind,
    RepairOrder,
    RepairPolicy,
    Vendor,
)
from aftersales.domain.request import REQUESTS
from aftersales.domain.values import Category, Channel, Impact, Money, Urgency
from aftersales.domain.warranty import WarrantyPolicy
from aftersales.errors import ValidationError
from aftersales.ports import UnitOfWork
from aftersales.testing.contracts._shipped import (
    CLERK,
    ENGINEER,
    SUPERVISOR,
    Action,
    expand,
    first_possible,
    recorded_actors,
    refer_actors,
    refer_equipment,
    walk,
)
from aftersales.testing.contracts._support import ids, instants, long_texts, names, texts
from aftersales.testing.contracts._support import timezones as zones
from aftersales.testing.contracts.kind import KindExamples, ensure
from aftersales.workflows import depot, outsourced, steps

__all__ = ["OutsourcedRepairExamples", "RepairOrderExamples"]

_POLICY = RepairPolicy()
_MATRIX = PriorityMatrix()
_WARRANTY = WarrantyPolicy()
_OPENED = datetime(2024, 5, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))
#: The vendor the contract's changes choose (never one that failed on a unit).
CONTRACT_VENDOR = Vendor(UUID("00000000-0000-4000-8000-0000000000a1"), "合约维修站 vendor",
                         "0755-8888", frozenset({"笔记本"}))
_prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2,
                      allow_nan=False, allow_infinity=False)


@attrs.frozen
class _Args:
    """Everything a repair step may need, drawn once per step."""

    at: datetime
    later: datetime  # at least 5 hours after ``at``
    text: str
    short: str
    note: str
    new_id: UUID
    amount: Decimal


@attrs.define
class _Job:
    """A depot repair order and the outsourced repair it opened (if any)."""

    order: RepairOrder
    vendor: Vendor
    outsourced: OutsourcedRepair | None = None

    def clone(self) -> _Job:
        repair = self.outsourced.clone() if self.outsourced is not None else None
        return _Job(self.order.clone(), self.vendor, repair)

    @property
    def out(self) -> OutsourcedRepair:
        if self.outsourced is None:
            raise ValidationError("OutsourcedRepair", "id", "nothing was sent to a vendor")
        return self.outsourced


def _diagnose(job: _Job, a: _Args, *, old: bool) -> None:
    order = job.order
    installed = (a.at - timedelta(days=2000 if old else 100)).date()
    unit = Equipment(order.equipment_id, f"S-{order.equipment_id.hex}", "型号 X1",
                     order.customer_id, installed_on=installed)
    depot.diagnose(order, fault=a.short, cause=a.text, fault_class=FaultClass.QUALITY,
                   fault_kind=FaultKind.HARDWARE, equipment=unit, warranty_policy=_WARRANTY,
                   actor=ENGINEER, at=a.at, policy=_POLICY, fault_code="HW-BOARD")


def _lines(a: _Args) -> tuple[EstimateLine, ...]:
    return (
        EstimateLine(EstimateBasis.SYMPTOM, a.short, a.text, LineKind.LABOUR,
                     Money(a.amount, "CNY")),
        EstimateLine(EstimateBasis.ITEM, "主板", a.short, LineKind.PART,
                     Money(a.amount * 3, "CNY"), sku="VR-1", source=PartSource.OURS,
                     origin=PartOrigin.OEM, to_order=True),
    )


def _results(checklist: tuple[str, ...], passed: bool) -> dict[str, bool]:
    results = dict.fromkeys(checklist, True)
    if not passed:
        results[checklist[0]] = False
    return results


def _deposit(job: _Job, a: _Args) -> None:
    order = job.order
    due = order.deposit_required.amount - order.deposit_paid.amount
    depot.receive_deposit(order, amount=Money(due if due > 0 else a.amount, order.currency),
                          actor=CLERK, at=a.at)


def _reserve(job: _Job, a: _Args) -> None:
    order = job.order
    for sku, quantity in sorted(order.missing_parts.items()) or [("VR-1", 1)]:
        reservation = Reservation(uuid5(a.new_id, sku), order.id, sku, quantity)
        depot.record_parts_reserved(order, reservation=reservation, actor=CLERK, at=a.at)


def _discount(job: _Job, a: _Args) -> None:
    due = job.order.gross_due()
    depot.apply_discount(job.order, amount=Money((due.amount / 2).quantize(Decimal("0.01")),
                                                 due.currency),
                         reason=a.short, actor=SUPERVISOR, at=a.at)


def _send_to_vendor(job: _Job, a: _Args) -> None:
    job.outsourced = depot.send_to_vendor(job.order, outsourced_id=a.new_id, reason=a.short,
                                          actor=CLERK, at=a.at, policy=_POLICY)


_ACTIONS: dict[str, Action[_Job]] = {
    "assign": lambda j, a: depot.assign_engineer(j.order, engineer_id=ENGINEER.id, actor=CLERK,
                                                 at=a.at),
    "sign": lambda j, a: depot.sign_intake(j.order, signed_by=a.short, actor=CLERK, at=a.at),
    "diagnose_free": lambda j, a: _diagnose(j, a, old=False),
    "diagnose_old": lambda j, a: _diagnose(j, a, old=True),
    "send_estimate": lambda j, a: depot.send_estimate(j.order, estimate_id=a.new_id,
                                                      lines=_lines(a), actor=ENGINEER, at=a.at),
    "approve": lambda j, a: depot.approve_estimate(j.order, approved_by=a.short, actor=CLERK,
                                                   at=a.at),
    "decline": lambda j, a: depot.decline_estimate(j.order, declined_by=a.short, reason=a.text,
                                                   actor=CLERK, at=a.at, policy=_POLICY),
    "reopen": lambda j, a: depot.reopen_diagnosis(j.order, reason=a.text,
                                                  kind=ReopenKind.NEW_FINDINGS, actor=ENGINEER,
                                                  at=a.at),
    "deposit": _deposit,
    "start": lambda j, a: depot.start_repair(j.order, actor=ENGINEER, at=a.at, note=a.note),
    "work": lambda j, a: depot.record_repair_work(j.order, description=a.text, actor=ENGINEER,
                                                  at=a.at),
    "fit_part": lambda j, a: depot.fit_part(j.order, sku="VR-1", description=a.short,
                                            origin=PartOrigin.OEM, source=PartSource.OURS,
                                            actor=ENGINEER, at=a.at, warranty_months=6),
    "wait_for_parts": lambda j, a: depot.wait_for_parts(
        j.order, needed={"VR-1": 1, "硬盘-2TB": 2}, reason=a.short, actor=ENGINEER, at=a.at
    ),
    "reserve_parts": _reserve,
    "resume": lambda j, a: depot.resume_repair(j.order, actor=ENGINEER, at=a.at),
    "propose": lambda j, a: depot.propose_additional_work(
        j.order, estimate_id=a.new_id, lines=_lines(a)[:1], reason=a.short,
        new_promised_at=j.order.promised_at + timedelta(days=2), actor=ENGINEER, at=a.at,
    ),
    "approve_additional": lambda j, a: depot.approve_additional_work(
        j.order, approved_by=a.short, actor=CLERK, at=a.at, policy=_POLICY
    ),
    "progress": lambda j, a: depot.record_progress_check(j.order, note=a.short, actor=CLERK,
                                                         at=a.at),
    "delay": lambda j, a: depot.notify_delay(
        j.order, new_promised_at=j.order.promised_at + timedelta(days=1), reason=a.short,
        apology=a.short, actor=CLERK, at=a.at, policy=_POLICY,
    ),
    "finish": lambda j, a: depot.finish_repair(j.order, summary=a.text, actor=ENGINEER,
                                               at=a.at),
    "qc_fail": lambda j, a: depot.record_qc(j.order, results=_results(j.order.qc_checklist,
                                                                      False),
                                            actor=ENGINEER, at=a.at),
    "qc_pass": lambda j, a: depot.record_qc(j.order, results=_results(j.order.qc_checklist,
                                                                      True),
                                            actor=ENGINEER, at=a.at),
    "rework": lambda j, a: depot.rework(j.order, reason=a.short, actor=ENGINEER, at=a.at),
    "ready": lambda j, a: depot.mark_ready(j.order, pickup_at=a.later, actor=CLERK, at=a.at,
                                           policy=_POLICY),
    "discount": _discount,
    "settle": lambda j, a: depot.settle(j.order, amount=j.order.amount_due(), actor=CLERK,
                                        at=a.at, outlet=a.note),
    "deliver": lambda j, a: depot.deliver(j.order, signed_by=a.short, actor=CLERK, at=a.at,
                                          policy=_POLICY),
    "close": lambda j, a: depot.close(j.order, actor=CLERK, at=a.at),
    "unrepairable": lambda j, a: depot.declare_unrepairable(j.order, reason=a.text,
                                                            actor=ENGINEER, at=a.at),
    "return": lambda j, a: depot.return_unrepaired(j.order, signed_by=a.short, actor=CLERK,
                                                   at=a.at),
    "send_to_vendor": _send_to_vendor,
    "choose_vendor": lambda j, a: outsourced.choose_vendor(j.out, vendor=j.vendor, actor=CLERK,
                                                           at=a.at),
    "ship": lambda j, a: outsourced.ship_to_vendor(
        j.out, carrier=a.short, tracking_number=f"SF{a.new_id.hex[:12]}",
        voucher=f"取件凭证 {a.new_id.hex[:6]}", promised_by=a.later, actor=CLERK, at=a.at,
        policy=_POLICY,
    ),
    "chase": lambda j, a: outsourced.chase_vendor(j.out, response=a.short, actor=CLERK,
                                                  at=a.at, policy=_POLICY,
                                                  new_promised_by=a.later),
    "vendor_returned": lambda j, a: outsourced.unit_returned(j.out, vendor_report=a.text,
                                                             actor=CLERK, at=a.at),
    "reinspect_fail": lambda j, a: outsourced.reinspect(
        j.out, results=_results(j.out.qc_checklist, False), actor=ENGINEER, at=a.at
    ),
    "reinspect_pass": lambda j, a: outsourced.reinspect(
        j.out, results=_results(j.out.qc_checklist, True), actor=ENGINEER, at=a.at
    ),
    "back_to_depot": lambda j, a: outsourced.back_to_depot(j.out, actor=CLERK, at=a.at),
    "receive_from_vendor": lambda j, a: depot.receive_from_vendor(j.order, outsourced=j.out,
                                                                  actor=CLERK, at=a.at),
    "vendor_failed": lambda j, a: outsourced.record_vendor_failure(j.out, reason=a.short,
                                                                   actor=CLERK, at=a.at),
    "failed_unit_returned": lambda j, a: outsourced.failed_unit_returned(j.out, actor=CLERK,
                                                                         at=a.at),
    "outsourced_replacement": lambda j, a: outsourced.offer_replacement(j.out, reason=a.short,
                                                                        actor=CLERK, at=a.at),
    "vendor_gave_up": lambda j, a: depot.vendor_gave_up(j.order, outsourced=j.out, actor=CLERK,
                                                        at=a.at),
    "offer_replacement": lambda j, a: depot.offer_replacement(j.order, model=a.short,
                                                              actor=CLERK, at=a.at),
    "accept_replacement": lambda j, a: depot.accept_replacement(
        j.order, serial=f"SN-{a.new_id.hex[:8]}", signed_by=a.short, actor=CLERK, at=a.at
    ),
}

_PATHS: dict[str, list[str]] = {  # a trailing * repeats the step 0-3 times
    "free": ["assign", "sign", "diagnose_free", "progress", "start", "work*", "fit_part",
             "finish", "qc_fail", "rework", "finish", "qc_pass", "ready", "settle", "deliver",
             "close"],
    "chargeable": ["sign", "assign", "diagnose_old", "send_estimate", "approve", "deposit",
                   "start", "propose", "approve_additional", "deposit", "wait_for_parts",
                   "reserve_parts", "resume", "fit_part", "delay", "finish", "qc_pass",
                   "ready", "discount", "settle", "deliver", "close"],
    "declined": ["sign", "diagnose_old", "send_estimate", "decline", "settle", "return",
                 "close"],
    "reopened": ["sign", "diagnose_old", "send_estimate", "reopen", "diagnose_free", "start",
                 "work*", "finish", "qc_pass", "ready", "settle", "deliver", "close"],
    "vendor": ["sign", "diagnose_free", "send_to_vendor", "choose_vendor", "ship", "chase*",
               "vendor_returned", "reinspect_fail", "reinspect_pass", "back_to_depot",
               "receive_from_vendor", "qc_pass", "ready", "settle", "deliver", "close"],
    "vendor_failed": ["sign", "diagnose_free", "send_to_vendor", "choose_vendor", "ship",
                      "chase*", "vendor_failed", "failed_unit_returned",
                      "outsourced_replacement", "vendor_gave_up", "offer_replacement",
                      "accept_replacement", "close"],
    "unrepairable": ["sign", "diagnose_free", "unrepairable", "settle", "return", "close"],
}
_VENDOR_PATHS = ("vendor", "vendor_failed")
#: The contract's change of an order: the first step (in this order) it accepts now.
_ORDER_CHANGES = ["sign", "start", "send_estimate", "diagnose_free", "approve", "resume",
                  "reserve_parts", "approve_additional", "ready", "qc_pass", "settle",
                  "deliver", "return", "accept_replacement", "close", "work", "progress"]
#: ... and of an outsourced repair.
_OUTSOURCED_CHANGES = ["ship", "chase", "reinspect_pass", "back_to_depot",
                       "failed_unit_returned", "choose_vendor", "outsourced_replacement"]


def _copy(job: _Job) -> _Job:
    return job.clone()


def _open(order_id: UUID, equipment_id: UUID, customer_id: UUID, at: datetime,
          request_id: UUID | None = None, number: str | None = None,
          intake: Intake | None = None, promised_at: datetime | None = None) -> RepairOrder:
    return depot.open_repair_order(
        order_id=order_id, number=number or f"RO-{uuid4().hex}",
        request_id=request_id or uuid4(), equipment_id=equipment_id, customer_id=customer_id,
        intake=intake or Intake(appearance="外观良好", configuration="i7 / 16 GB",
                                accessories=("充电器",), data_handling=DataHandling.WIPE_ALLOWED),
        promised_at=promised_at or at + timedelta(days=3), actor=CLERK, at=at, policy=_POLICY,
    )


def _change_args(at: datetime) -> _Args:
    return _Args(at, at + timedelta(hours=6), f"变更 change {at.isoformat()}", "王先生", "",
                 uuid4(), Decimal("150.00"))


@st.composite
def _jobs(
    draw: st.DrawFn, customer_id: UUID | None = None, equipment_ids: tuple[UUID, ...] = (),
    request_ids: tuple[UUID, ...] = (), near: datetime | None = None, max_steps: int = 40,
    paths: Sequence[str] | None = None, through: str | None = None,
) -> _Job:
    """A job along a drawn path, cut anywhere (or only after step ``through``)."""
    if near is None:
        at = draw(instants())
    else:  # within a day of ``near``, in any zone: the order is by instant
        at = (near + timedelta(seconds=draw(st.integers(0, 86_400)))).astimezone(draw(zones))
    order = _open(
        draw(ids), draw(st.sampled_from(equipment_ids)) if equipment_ids else draw(ids),
        customer_id or draw(ids), at,
        draw(st.sampled_from(request_ids)) if request_ids else draw(ids),
        f"{draw(st.sampled_from(['RO-', '维修-', 'Ω/']))}{draw(ids).hex}",
        Intake(appearance=draw(names()), configuration=draw(long_texts()),
               accessories=tuple(draw(st.lists(names(), max_size=3, unique=True))),
               data_handling=draw(st.sampled_from(DataHandling)), damage_notes=draw(texts())),
        (at + timedelta(hours=draw(st.integers(2, 400)))).astimezone(draw(zones)),
    )
    vendor = Vendor(draw(ids), draw(names(200)), draw(names(500)),
                    draw(st.frozensets(names(120), max_size=3)))
    job = _Job(order, vendor)
    path = _PATHS[draw(st.sampled_from(sorted(paths or _PATHS)))]
    planned = expand(path, lambda: draw(st.integers(0, 3)))
    low = planned.index(through) + 1 if through in planned else 0
    planned = planned[: draw(st.integers(low, len(planned)) | st.just(len(planned)))]
    times = [at]

    def args(_: int) -> _Args:
        times.append((times[-1] + timedelta(seconds=draw(st.integers(60, 3 * 86_400))))
                     .astimezone(draw(zones)))
        now = times[-1]
        return _Args(now, (now + timedelta(minutes=draw(st.integers(300, 20_000)))).astimezone(
            draw(zones)), draw(long_texts()), draw(names()), draw(texts()), draw(ids),
            draw(_prices))

    walk(job, planned[:max_steps], _ACTIONS, args, _copy)
    return job


def _refer_order_world(
    uow: UnitOfWork, orders: Sequence[RepairOrder], actors: set[UUID]
) -> None:
    refer_equipment(uow, {o.equipment_id: o.customer_id for o in orders})
    for order in orders:
        ensure(uow, REQUESTS, order.request_id, lambda i, o=order: steps.register(
            request_id=i, number=f"SR-{i.hex}", customer_id=o.customer_id,
            equipment_id=o.equipment_id, category=Category.FAULT, channel=Channel.PHONE,
            impact=Impact.MODERATE, urgency=Urgency.HIGH, summary="送修 depot repair",
            actor=CLERK, at=_OPENED, matrix=_MATRIX,
        ))
    refer_actors(uow, actors | {o.engineer_id for o in orders}
                 | {CLERK.id, ENGINEER.id, SUPERVISOR.id})
    ensure(uow, VENDORS, CONTRACT_VENDOR.id, lambda i: CONTRACT_VENDOR.clone())


class RepairOrderExamples(KindExamples[RepairOrder]):
    """R13 depot repair orders in every state the depot workflow reaches."""

    kind = REPAIR_ORDERS

    def make(self, n: int) -> list[RepairOrder]:
        customer = uuid4()
        return [_open(uuid4(), uuid4(), customer, _OPENED + timedelta(minutes=i))
                for i in range(n)]

    def change(self, item: RepairOrder, at: datetime) -> bool:
        return first_possible(_Job(item, CONTRACT_VENDOR), _ORDER_CHANGES, _ACTIONS,
                              _change_args(at), _copy)

    def examples(self) -> st.SearchStrategy[RepairOrder]:
        return _jobs().map(lambda job: job.order)

    def batches(self) -> st.SearchStrategy[list[RepairOrder]]:
        @st.composite
        def build(draw: st.DrawFn) -> list[RepairOrder]:
            customer = draw(ids)
            units = tuple(draw(st.lists(ids, min_size=1, max_size=3)))
            requests = tuple(draw(st.lists(ids, min_size=1, max_size=3)))
            near = draw(instants(high=datetime(2080, 1, 1))).astimezone(UTC)
            jobs = draw(st.lists(_jobs(customer, units, requests, near, max_steps=8),
                                 min_size=1, max_size=5))
            return self.distinct([job.order for job in jobs])

        return build()

    def refer(self, uow: UnitOfWork, items: Sequence[RepairOrder]) -> None:
        _refer_order_world(uow, items, recorded_actors(items))

    def collide(self, item: RepairOrder, like: RepairOrder, group: tuple[str, ...]) -> bool:
        if group == ("open_equipment_id",):  # R13: one open order per unit
            item.equipment_id = like.equipment_id
            return True
        return super().collide(item, like, group)


class OutsourcedRepairExamples(KindExamples[OutsourcedRepair]):
    """R14 outsourced repairs opened by depot orders, at every step of the vendor loop."""

    kind = OUTSOURCED_REPAIRS

    def make(self, n: int) -> list[OutsourcedRepair]:
        found = []
        customer = uuid4()
        for i in range(n):
            job = _Job(_open(uuid4(), uuid4(), customer, _OPENED + timedelta(minutes=i)),
                       CONTRACT_VENDOR)
            at = _OPENED + timedelta(hours=1, minutes=i)
            for name in ("sign", "diagnose_free", "send_to_vendor"):
                _ACTIONS[name](job, _change_args(at))
                at += timedelta(hours=1)
            found.append(job.out)
        return found

    def change(self, item: OutsourcedRepair, at: datetime) -> bool:
        job = _Job(_open(item.order_id, item.equipment_id, item.customer_id or uuid4(), at),
                   CONTRACT_VENDOR, item)
        return first_possible(job, _OUTSOURCED_CHANGES, _ACTIONS, _change_args(at), _copy)

    def examples(self) -> st.SearchStrategy[OutsourcedRepair]:
        return _jobs(paths=_VENDOR_PATHS, through="send_to_vendor").filter(
            lambda job: job.outsourced is not None
        ).map(lambda job: job.out)

    def refer(self, uow: UnitOfWork, items: Sequence[OutsourcedRepair]) -> None:
        orders = [_open(r.order_id, r.equipment_id, r.customer_id or uuid4(), _OPENED,
                        number=r.order_number) for r in items]
        for order in orders:
            ensure(uow, REPAIR_ORDERS, order.id, lambda i, o=order: o)
        _refer_order_world(uow, orders, recorded_actors(items))
        for repair in items:
            for attempt in repair.attempts:
                ensure(uow, VENDORS, attempt.vendor_id,
                       lambda i: Vendor(i, "参考维修站 vendor", "0755-1234"))

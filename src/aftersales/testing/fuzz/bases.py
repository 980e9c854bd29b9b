"""A valid base command of every shipped command class (:data:`SHIPPED_BASES`), and
where a value invalid elsewhere is accepted on purpose (:data:`SHIPPED_ALLOWED`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from aftersales import commands as cm
from aftersales.domain.parts import LocationKind, PartOrigin
from aftersales.domain.repair import (
    Appointment,
    FaultClass,
    FaultKind,
    OldPartDisposition,
    ReopenKind,
)
from aftersales.domain.values import (
    Address,
    Category,
    Channel,
    Contact,
    CustomerKind,
    CustomerTier,
    Impact,
    Role,
    Urgency,
)
from aftersales.service.commands import Command
from aftersales.testing.fuzz.world import D, FuzzWorld, H

BaseFactory = Callable[[FuzzWorld], Command]


def _request_bases() -> dict[type[Command], BaseFactory]:
    def on(stage: str, cls: Callable[..., Command], by: str,
           **kw: Callable[[FuzzWorld], Any]) -> BaseFactory:
        def build(w: FuzzWorld) -> Command:
            values = {k: f(w) for k, f in kw.items()}
            return cls(actor_id=getattr(w, by), request_id=w.request(stage), **values)

        return build

    def c(value: Any) -> Callable[[FuzzWorld], Any]:
        return lambda _w: value

    later: Callable[[FuzzWorld], Any] = lambda w: w.now() + 30 * D  # noqa: E731
    return {
        cm.RegisterRequest: lambda w: cm.RegisterRequest(
            actor_id=w.clerk, customer_id=w.customer, summary="printer down",
            category=Category.FAULT, channel=Channel.EMAIL, impact=Impact.SIGNIFICANT,
            urgency=Urgency.HIGH, equipment_id=w.unit()),
        cm.Route: on("registered", cm.Route, "clerk", department=c("printers")),
        cm.Assign: on("registered", cm.Assign, "clerk", engineer_id=lambda w: w.engineer),
        cm.Reject: on("registered", cm.Reject, "clerk", reason=c("not our product")),
        cm.Cancel: on("assigned", cm.Cancel, "clerk", reason=c("customer withdrew")),
        cm.StartRemote: on("assigned", cm.StartRemote, "engineer"),
        cm.RecordContact: on("remote", cm.RecordContact, "engineer",
                             channel=c(Channel.PHONE), summary=c("called")),
        cm.EscalateOnsite: on("remote", cm.EscalateOnsite, "engineer", reason=c("hardware"),
                              promised_at=later),
        cm.HandToDepot: on("remote", cm.HandToDepot, "engineer", reason=c("bench repair")),
        cm.Resolve: on("remote", cm.Resolve, "engineer", resolution=c("fixed")),
        cm.Confirm: on("resolved", cm.Confirm, "contact", note=c("works again")),
        cm.Reopen: on("resolved", cm.Reopen, "contact", reason=c("still jams")),
        cm.Close: on("confirmed", cm.Close, "clerk"),
        cm.StartOnsite: on("assigned", cm.StartOnsite, "engineer", promised_at=later),
        cm.ConfirmNeed: on("planned", cm.ConfirmNeed, "engineer", note=c("confirmed by phone")),
        cm.ApproveDispatch: on("awaiting_approval", cm.ApproveDispatch, "boss"),
        cm.DispatchEmergency: on("awaiting_approval", cm.DispatchEmergency, "engineer",
                                 reason=c("line down")),
        cm.RetroApprove: on("emergency", cm.RetroApprove, "boss"),
        cm.Prepare: on("approved", cm.Prepare, "engineer", note=c("spare fuser")),
        cm.Depart: on("preparing", cm.Depart, "engineer"),
        cm.RecordArrival: on("travelling", cm.RecordArrival, "engineer"),
        cm.RecordWork: on("on_site", cm.RecordWork, "engineer",
                          description=c("replaced the fuser")),
        cm.SignOff: on("on_site", cm.SignOff, "engineer", found=c("worn fuser"),
                       result=c("prints again"), signed_by=c("Mr Fuzz"), rating=c(5),
                       parts_replaced=c(("fuser",)), fee=lambda w: w.money(80),
                       open_issues=c("none"), remarks=c("quick")),
        cm.CallConsultation: on("on_site", cm.CallConsultation, "engineer",
                                reason=c("intermittent")),
        cm.PlanRevisit: on("consultation", cm.PlanRevisit, "engineer",
                           plan=c("bring spares"), promised_at=later),
        cm.Reschedule: on("planned", cm.Reschedule, "clerk",
                          new_time=lambda w: w.now() + 31 * D, reason=c("no engineer free")),
    }


def _record_bases() -> dict[type[Command], BaseFactory]:
    def fresh_engineer(w: FuzzWorld) -> UUID:
        return w.actor(f"Fuzz target {next(w._serials)}", Role.ENGINEER)

    def retired(w: FuzzWorld) -> UUID:
        target = fresh_engineer(w)
        w.desk.deactivate_actor(w.boss, target, reason="on leave")
        return target

    return {
        cm.RegisterActor: lambda w: cm.RegisterActor(
            actor_id=w.boss, person="Ms Contact", roles={Role.CUSTOMER},
            customer_id=w.customer),
        cm.ChangeRoles: lambda w: cm.ChangeRoles(
            actor_id=w.boss, target_id=fresh_engineer(w), roles={Role.ENGINEER, Role.CLERK}),
        cm.DeactivateActor: lambda w: cm.DeactivateActor(
            actor_id=w.boss, target_id=fresh_engineer(w), reason="left"),
        cm.ReactivateActor: lambda w: cm.ReactivateActor(
            actor_id=w.boss, target_id=retired(w), note="back from leave"),
        cm.RegisterCustomer: lambda w: cm.RegisterCustomer(
            actor_id=w.clerk, customer="Huaxin Tech", kind=CustomerKind.ORGANISATION,
            tier=CustomerTier.KEY_ACCOUNT,
            contacts=(Contact("Mr Zhou", phone="+86 10 6555 0101", email="zhou@example.cn"),),
            addresses=(Address("Zhongguancun 1", city="Beijing", region="Haidian",
                               postcode="100080", country="CN"),)),
        cm.RegisterEquipment: lambda w: cm.RegisterEquipment(
            actor_id=w.clerk, serial=f"FZ-{w.tag}-{next(w._serials)}", model="Fuzzbook",
            owner_id=w.customer, installed_on=w.today() - timedelta(days=30),
            purchased_on=w.today() - timedelta(days=40), invoice_ref="INV-1",
            produced_on=w.today() - timedelta(days=90), product_line="laptops",
            maker="Fuzz Inc", hardware_version="rev B", software_version="1.2",
            location="floor 3", user="Ms Li", asset_label="A-17"),
        cm.AddServicePlan: lambda w: cm.AddServicePlan(
            actor_id=w.rep, customer_id=w.customer, starts_on=w.today(),
            ends_on=w.today() + timedelta(days=365), equipment_ids={w.unit()},
            content="annual care", callback_every=timedelta(days=30),
            response_within=timedelta(hours=4), maintenance_every=timedelta(days=90),
            extends_warranty=True),
    }


def _depot_bases() -> dict[type[Command], BaseFactory]:
    def on(stage: str, cls: Callable[..., Command], by: str, *, chargeable: bool = False,
           **kw: Callable[[FuzzWorld], Any]) -> BaseFactory:
        def build(w: FuzzWorld) -> Command:
            order = w.order(stage, chargeable=chargeable)
            values = {k: f(w) for k, f in kw.items()}
            return cls(actor_id=getattr(w, by), order_id=order, **values)

        return build

    def c(value: Any) -> Callable[[FuzzWorld], Any]:
        return lambda _w: value

    def receive(w: FuzzWorld) -> Command:
        request = w.request("handed_to_depot")
        unit = w.desk.get_request(w.clerk, request).equipment_id
        start = w.now() + D
        slot = Appointment(start, start + H, w.now(), start - 12 * H)
        return cm.ReceiveAtDepot(actor_id=w.clerk, request_id=request, intake=w.intake_form(),
                                 promised_at=w.now() + 30 * D, equipment_id=unit,
                                 appointment=slot)

    def qc(w: FuzzWorld) -> Command:
        order = w.order("quality_check")
        checklist = w.repairs.get_order(w.clerk, order).qc_checklist
        return cm.RecordQc(actor_id=w.engineer, order_id=order,
                           results={item: True for item in checklist},
                           notes={checklist[0]: "as received"})

    def settle(w: FuzzWorld) -> Command:
        order = w.order("ready_for_pickup", chargeable=True)
        due = w.repairs.get_order(w.clerk, order).amount_due()
        return cm.Settle(actor_id=w.clerk, order_id=order, amount=due, paid=True,
                         outlet="Fuzz outlet")

    def promised(w: FuzzWorld, order: UUID) -> datetime:
        moment: datetime = w.repairs.get_order(w.clerk, order).promised_at
        return moment + D

    def additional(w: FuzzWorld) -> Command:
        order = w.order("repairing")
        return cm.ProposeAdditionalWork(actor_id=w.engineer, order_id=order,
                                        lines=(w.labour(80), w.part_line(120)),
                                        reason="fan worn", new_promised_at=promised(w, order))

    def delay(w: FuzzWorld) -> Command:
        order = w.order("diagnosing")
        return cm.NotifyDelay(actor_id=w.clerk, order_id=order,
                              new_promised_at=promised(w, order),
                              reason="board on back order", apology="sorry")

    return {
        cm.ReceiveAtDepot: receive,
        cm.AssignRepairEngineer: on("diagnosing", cm.AssignRepairEngineer, "clerk",
                                    engineer_id=lambda w: w.engineer2),
        cm.SignIntake: on("intake", cm.SignIntake, "clerk", signed_by=c("Mr Fuzz")),
        cm.Diagnose: on("diagnosing", cm.Diagnose, "engineer", fault=c("no power"),
                        cause=c("regulator"), fault_class=c(FaultClass.QUALITY),
                        fault_kind=c(FaultKind.HARDWARE), fault_code=lambda w: w.fault_code(),
                        findings=c(())),
        cm.ReopenDiagnosis: on("repairing", cm.ReopenDiagnosis, "engineer",
                               reason=c("customer disputes"),
                               kind=c(ReopenKind.DISPUTED_BY_CUSTOMER)),
        cm.SendEstimate: on("diagnosed", cm.SendEstimate, "engineer", chargeable=True,
                            lines=lambda w: (w.labour(), w.part_line())),
        cm.ApproveEstimate: on("awaiting_approval", cm.ApproveEstimate, "contact",
                               chargeable=True),
        cm.DeclineEstimate: on("awaiting_approval", cm.DeclineEstimate, "clerk",
                               chargeable=True, reason=c("too dear"),
                               declined_by=c("Mr Fuzz (phone)")),
        cm.StartRepair: on("diagnosed", cm.StartRepair, "engineer", note=c("starting")),
        cm.RecordRepairWork: on("repairing", cm.RecordRepairWork, "engineer",
                                description=c("reflowed the board"), wipes_data=c(True)),
        cm.FitPart: on("repairing", cm.FitPart, "engineer", sku=lambda w: w.sku,
                       old_part=c(OldPartDisposition.RETURN_TO_SUPPLIER)),
        cm.ReceiveDeposit: on("approved", cm.ReceiveDeposit, "clerk", chargeable=True,
                              amount=lambda w: w.money(100)),
        cm.WaitForParts: on("repairing", cm.WaitForParts, "engineer",
                            needed=lambda w: {w.sku: 1, w.disk_sku: 2},
                            reason=c("on order")),
        cm.ResumeRepair: on("parts_reserved", cm.ResumeRepair, "engineer"),
        cm.ProposeAdditionalWork: additional,
        cm.ApproveAdditionalWork: on("additional_work_pending", cm.ApproveAdditionalWork,
                                     "clerk", approved_by=c("Mr Fuzz (phone)")),
        cm.DeclineAdditionalWork: on("additional_work_pending", cm.DeclineAdditionalWork,
                                     "contact"),
        cm.FinishRepair: on("repairing", cm.FinishRepair, "engineer", summary=c("done")),
        cm.RecordQc: qc,
        cm.Rework: on("quality_check", cm.Rework, "engineer", reason=c("QC: self-test")),
        cm.RecordProgressCheck: on("diagnosing", cm.RecordProgressCheck, "clerk",
                                   note=c("on track")),
        cm.NotifyDelay: delay,
        cm.MarkReady: on("qc_passed", cm.MarkReady, "clerk",
                         pickup_at=lambda w: w.now() + 7 * D),
        cm.ApplyDiscount: on("ready_for_pickup", cm.ApplyDiscount, "boss", chargeable=True,
                             amount=lambda w: w.money(50), reason=c("loyal customer")),
        cm.Settle: settle,
        cm.Deliver: on("settled", cm.Deliver, "clerk", signed_by=c("Mr Fuzz")),
        cm.CloseOrder: on("delivered", cm.CloseOrder, "clerk"),
        cm.DeclareUnrepairable: on("diagnosed", cm.DeclareUnrepairable, "engineer",
                                   reason=c("no board")),
        cm.OfferReplacement: on("unrepairable", cm.OfferReplacement, "boss",
                                model=c("Fuzzbook 2")),
        cm.AcceptReplacement: on("replacement_offered", cm.AcceptReplacement, "clerk",
                                 serial=c("FZ-NEW-1"), signed_by=c("Mr Fuzz")),
        cm.ReturnUnrepaired: on("unrepairable_settled", cm.ReturnUnrepaired, "clerk",
                                signed_by=c("Mr Fuzz")),
    }


def _outsourced_bases() -> dict[type[Command], BaseFactory]:
    def on(stage: str, cls: Callable[..., Command], by: str,
           **kw: Callable[[FuzzWorld], Any]) -> BaseFactory:
        def build(w: FuzzWorld) -> Command:
            repair = w.outsourced(stage)
            values = {k: f(w) for k, f in kw.items()}
            return cls(actor_id=getattr(w, by), outsourced_id=repair, **values)

        return build

    def c(value: Any) -> Callable[[FuzzWorld], Any]:
        return lambda _w: value

    def reinspect(w: FuzzWorld) -> Command:
        repair = w.outsourced("returned")
        checklist = w.repairs.get_outsourced(w.clerk, repair).qc_checklist
        return cm.Reinspect(actor_id=w.engineer, outsourced_id=repair,
                             results=dict.fromkeys(checklist, True),
                             notes={checklist[1]: "all there"})

    return {
        cm.SendToVendor: lambda w: cm.SendToVendor(
            actor_id=w.engineer, order_id=w.order("diagnosed"), reason="panel",
            beyond_local_ability=True, maker_warranty=True),
        cm.RegisterVendor: lambda w: cm.RegisterVendor(
            actor_id=w.boss, vendor="Panel works", contact="0755-9999",
            capabilities={"laptop", "display"}),
        cm.ChooseVendor: on("opened", cm.ChooseVendor, "clerk",
                             vendor_id=lambda w: w.vendors[1], capability=c("laptop")),
        cm.ShipToVendor: on("vendor_chosen", cm.ShipToVendor, "clerk", carrier=c("SF"),
                             tracking_number=c("SF2"), voucher=c("v2"),
                             promised_by=lambda w: w.now() + 30 * D),
        cm.ChaseVendor: on("at_vendor", cm.ChaseVendor, "rep", response=c("next week"),
                            new_promised_by=lambda w: w.now() + 60 * D),
        cm.VendorReturnedUnit: on("at_vendor", cm.VendorReturnedUnit, "clerk",
                                   vendor_report=c("fixed")),
        cm.Reinspect: reinspect,
        cm.BackToDepot: on("reinspected", cm.BackToDepot, "engineer"),
        cm.RecordVendorFailure: on("at_vendor", cm.RecordVendorFailure, "clerk",
                                    reason=c("no parts")),
        cm.FailedUnitReturned: on("failed_at_vendor", cm.FailedUnitReturned, "clerk",
                                   note=c("back by courier")),
        cm.OfferReplacementAfterVendors: on("vendor_failed", cm.OfferReplacementAfterVendors,
                                             "boss", reason=c("no vendor can"),
                                             model=c("Fuzzbook 2")),
        cm.GiveUpOutsourcing: on("vendor_failed", cm.GiveUpOutsourcing, "boss",
                                  reason=c("obsolete")),
    }


def _parts_bases() -> dict[type[Command], BaseFactory]:
    def reserved(cls: Callable[..., Command], *, issued: bool = False, **kw: Any
                 ) -> BaseFactory:
        def build(w: FuzzWorld) -> Command:
            _, held = w.reservation(issued=issued)
            values = {k: (v(w) if callable(v) else v) for k, v in kw.items()}
            return cls(actor_id=w.engineer, location_id=w.warehouse, reservation_id=held,
                       **values)

        return build

    return {
        cm.AddPart: lambda w: cm.AddPart(
            actor_id=w.clerk, sku=f"FZ-{w.tag}-{next(w._serials)}", title="fan",
            origin=PartOrigin.THIRD_PARTY, unit_price=w.money(30), warranty_months=3,
            supplier_id=w.vendors[1], storage_media=False),
        cm.OpenStockLocation: lambda w: cm.OpenStockLocation(
            actor_id=w.boss, location="Wang's van", kind=LocationKind.ENGINEER,
            engineer_id=w.engineer),
        cm.ReceiveStock: lambda w: cm.ReceiveStock(
            actor_id=w.clerk, location_id=w.location(), sku=w.sku, quantity=5,
            supplier_id=w.vendors[0], note="delivery 7"),
        cm.ReserveParts: lambda w: cm.ReserveParts(
            actor_id=w.engineer, location_id=w.warehouse, order_id=w.order("repairing"),
            sku=w.sku, quantity=2),
        cm.IssuePart: reserved(cm.IssuePart, quantity=1),
        cm.ReleaseParts: reserved(cm.ReleaseParts),
        cm.ReturnDefectivePart: lambda w: cm.ReturnDefectivePart(
            actor_id=w.engineer, location_id=w.warehouse, order_id=w.order("repairing"),
            sku=w.sku, quantity=1, note="burnt"),
        cm.ReportDeadOnArrival: reserved(cm.ReportDeadOnArrival, issued=True, note="dead",
                                         supplier_id=lambda w: w.vendors[1]),
    }


#: A valid base command of every shipped command class, built on a :class:`FuzzWorld`.
SHIPPED_BASES: Mapping[type[Command], BaseFactory] = {
    **_record_bases(), **_request_bases(), **_depot_bases(), **_outsourced_bases(),
    **_parts_bases(),
}


#: Values that cannot be valid elsewhere but are accepted on purpose in these places (a path as
#: in :attr:`Finding.where` → bad-value labels). Money is checked against the repair currency
#: where it is combined with an order's money (estimates, deposits, discounts, settlement); a
#: catalogue price and the fee on an on-site report only record an amount, in any currency.
SHIPPED_ALLOWED: Mapping[str, frozenset[str]] = {
    "AddPart.unit_price": frozenset({"Money in another currency"}),
    "SignOff.fee": frozenset({"Money in another currency"}),
}

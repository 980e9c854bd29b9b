"""The typed methods of outsourced repair (R14, R15) and spare parts (R28)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from uuid import UUID

from aftersales.domain.parts import LocationKind, Part, PartOrigin, Reservation, Stock
from aftersales.domain.records import Actor
from aftersales.domain.repair import OutsourcedRepair, Vendor
from aftersales.domain.values import Money
from aftersales.service import outsourced as os
from aftersales.service import parts as pt
from aftersales.service.repair_base import RepairRunner
from aftersales.service.runner import actor_id_of

__all__ = ["OutsourcedCommands", "PartsCommands"]


class OutsourcedCommands(RepairRunner):
    """Typed methods of the outsourced-repair commands."""

    def send_to_vendor(
        self, actor: Actor | UUID, order_id: UUID, *, reason: str,
        beyond_local_ability: bool = False, maker_warranty: bool | None = None,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> OutsourcedRepair:
        """R14: open an outsourced repair (maker's warranty, by default the order's
        determination, or beyond our local ability); the order goes ``at_vendor``. A unit
        never goes to two vendors at once."""
        return self._as(OutsourcedRepair, os.SendToVendor(
            actor_id=actor_id_of(actor), order_id=order_id, reason=reason,
            beyond_local_ability=beyond_local_ability, maker_warranty=maker_warranty,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def register_vendor(
        self, actor: Actor | UUID, *, name: str, contact: str, capabilities: Iterable[str] = (),
        idempotency_key: str | None = None,
    ) -> Vendor:
        """R14: add an external repair station to the vendor registry."""
        return self._as(Vendor, os.RegisterVendor(
            actor_id=actor_id_of(actor), vendor=name, contact=contact,
            capabilities=capabilities, idempotency_key=idempotency_key,
        ))

    def choose_vendor(
        self, actor: Actor | UUID, outsourced_id: UUID, *, vendor_id: UUID,
        capability: str | None = None, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> OutsourcedRepair:
        """R14: agree with a vendor from the registry (active, not one that failed already)."""
        return self._as(OutsourcedRepair, os.ChooseVendor(
            actor_id=actor_id_of(actor), outsourced_id=outsourced_id, vendor_id=vendor_id,
            capability=capability, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def ship_to_vendor(
        self, actor: Actor | UUID, outsourced_id: UUID, *, carrier: str, tracking_number: str,
        voucher: str, promised_by: datetime, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> OutsourcedRepair:
        """R14/R15: ship the unit keeping the voucher; the first chase is scheduled."""
        return self._as(OutsourcedRepair, os.ShipToVendor(
            actor_id=actor_id_of(actor), outsourced_id=outsourced_id, carrier=carrier,
            tracking_number=tracking_number, voucher=voucher, promised_by=promised_by,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def chase_vendor(
        self, actor: Actor | UUID, outsourced_id: UUID, *, response: str,
        new_promised_by: datetime | None = None, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> OutsourcedRepair:
        """R15: chase the vendor; its answer and the next chase are recorded."""
        return self._as(OutsourcedRepair, os.ChaseVendor(
            actor_id=actor_id_of(actor), outsourced_id=outsourced_id, response=response,
            new_promised_by=new_promised_by, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def vendor_returned(
        self, actor: Actor | UUID, outsourced_id: UUID, *, vendor_report: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> OutsourcedRepair:
        """R14: the unit came back from the vendor; it must be re-inspected."""
        return self._as(OutsourcedRepair, os.VendorReturnedUnit(
            actor_id=actor_id_of(actor), outsourced_id=outsourced_id, vendor_report=vendor_report,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def reinspect(
        self, actor: Actor | UUID, outsourced_id: UUID, *, results: Mapping[str, bool],
        notes: Mapping[str, str] | None = None, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> OutsourcedRepair:
        """R14: re-inspect the returned unit with the depot's QC checklist."""
        return self._as(OutsourcedRepair, os.Reinspect(
            actor_id=actor_id_of(actor), outsourced_id=outsourced_id, results=results, notes=notes,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def back_to_depot(
        self, actor: Actor | UUID, outsourced_id: UUID, *, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> OutsourcedRepair:
        """R14: the re-inspected unit goes back to its depot order."""
        return self._as(OutsourcedRepair, os.BackToDepot(
            actor_id=actor_id_of(actor), outsourced_id=outsourced_id,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def record_vendor_failure(
        self, actor: Actor | UUID, outsourced_id: UUID, *, reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> OutsourcedRepair:
        """R14: the vendor could not repair the unit (a unit it holds stays in the ledger)."""
        return self._as(OutsourcedRepair, os.RecordVendorFailure(
            actor_id=actor_id_of(actor), outsourced_id=outsourced_id, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def failed_unit_returned(
        self, actor: Actor | UUID, outsourced_id: UUID, *, note: str = "",
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> OutsourcedRepair:
        """R14: the unit a failed vendor held is back at the depot."""
        return self._as(OutsourcedRepair, os.FailedUnitReturned(
            actor_id=actor_id_of(actor), outsourced_id=outsourced_id, note=note,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def offer_replacement_after_vendors(
        self, actor: Actor | UUID, outsourced_id: UUID, *, reason: str, model: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> OutsourcedRepair:
        """R14/R21: no vendor could repair it; a replacement ``model`` is offered."""
        return self._as(OutsourcedRepair, os.OfferReplacementAfterVendors(
            actor_id=actor_id_of(actor), outsourced_id=outsourced_id, reason=reason, model=model,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def give_up_outsourcing(
        self, actor: Actor | UUID, outsourced_id: UUID, *, reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> OutsourcedRepair:
        """R14: stop trying vendors; the order becomes unrepairable."""
        return self._as(OutsourcedRepair, os.GiveUpOutsourcing(
            actor_id=actor_id_of(actor), outsourced_id=outsourced_id, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))


class PartsCommands(RepairRunner):
    """Typed methods of the spare-parts commands."""

    def add_part(
        self, actor: Actor | UUID, *, sku: str, name: str, origin: PartOrigin,
        unit_price: Money, warranty_months: int | None = None, supplier_id: UUID | None = None,
        storage_media: bool = False, idempotency_key: str | None = None,
    ) -> Part:
        """R28: add a part to the catalogue (SKUs are unique). ``warranty_months`` is its own
        warranty once fitted (None: the repair policy's default); ``supplier_id`` a vendor."""
        return self._as(Part, pt.AddPart(
            actor_id=actor_id_of(actor), sku=sku, title=name, origin=origin,
            unit_price=unit_price, warranty_months=warranty_months, supplier_id=supplier_id,
            storage_media=storage_media, idempotency_key=idempotency_key,
        ))

    def open_stock_location(
        self, actor: Actor | UUID, *, name: str, kind: LocationKind = LocationKind.WAREHOUSE,
        engineer_id: UUID | None = None, idempotency_key: str | None = None,
    ) -> Stock:
        """R28: open a stock location: a warehouse, or an engineer's own stock."""
        return self._as(Stock, pt.OpenStockLocation(
            actor_id=actor_id_of(actor), location=name, kind=kind, engineer_id=engineer_id,
            idempotency_key=idempotency_key,
        ))

    def reserve_parts(
        self, actor: Actor | UUID, order_id: UUID, *, location_id: UUID, sku: str,
        quantity: int = 1, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> Reservation:
        """R28: reserve ``quantity`` × ``sku`` at a location for the order, recorded on the
        order in the same transaction; GuardFailed when fewer are available. Returns the
        reservation (the newest of the order for that sku at that location)."""
        stock: Stock = self._run(pt.ReserveParts(
            actor_id=actor_id_of(actor), order_id=order_id, location_id=location_id, sku=sku,
            quantity=quantity, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))
        held = [r for r in stock.reservations.values() if r.order_id == order_id
                and r.sku == sku]
        return held[-1]

    def receive_stock(
        self, actor: Actor | UUID, location_id: UUID, *, sku: str, quantity: int,
        supplier_id: UUID | None = None, note: str = "", idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> Stock:
        """R28: goods receipt signed off at a location."""
        return self._as(Stock, pt.ReceiveStock(
            actor_id=actor_id_of(actor), location_id=location_id, sku=sku, quantity=quantity,
            supplier_id=supplier_id, note=note, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def issue_part(
        self, actor: Actor | UUID, location_id: UUID, *, reservation_id: UUID, quantity: int = 1,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> Stock:
        """R28: issue reserved units to the job."""
        return self._as(Stock, pt.IssuePart(
            actor_id=actor_id_of(actor), location_id=location_id, reservation_id=reservation_id,
            quantity=quantity, idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def release_parts(
        self, actor: Actor | UUID, location_id: UUID, *, reservation_id: UUID,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> Stock:
        """R28: the unused rest of a reservation goes back to stock and off the order."""
        return self._as(Stock, pt.ReleaseParts(
            actor_id=actor_id_of(actor), location_id=location_id, reservation_id=reservation_id,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def return_defective_part(
        self, actor: Actor | UUID, location_id: UUID, *, order_id: UUID, sku: str,
        quantity: int = 1, note: str = "", idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> Stock:
        """R28: a defective part removed from the order's unit is booked for its supplier."""
        return self._as(Stock, pt.ReturnDefectivePart(
            actor_id=actor_id_of(actor), location_id=location_id, order_id=order_id, sku=sku,
            quantity=quantity, note=note, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def report_dead_on_arrival(
        self, actor: Actor | UUID, location_id: UUID, *, reservation_id: UUID, note: str = "",
        supplier_id: UUID | None = None, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> Stock:
        """R28/§9: an issued part was dead on arrival."""
        return self._as(Stock, pt.ReportDeadOnArrival(
            actor_id=actor_id_of(actor), location_id=location_id, reservation_id=reservation_id,
            note=note, supplier_id=supplier_id, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

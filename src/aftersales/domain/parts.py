"""R28 spare parts, first slice: catalogue, stock per location, reservations, DOA.

A :class:`Stock` aggregate holds the stock of one :class:`StockLocation` (a warehouse or an
engineer's own stock). Every change (goods receipt, reservation for a repair order, issue,
release of the unused rest, defective-part return, dead-on-arrival) is checked first, then
appends one :class:`Movement` to the append-only ledger and emits one event. A refused change
raises an :mod:`aftersales.errors` exception and changes nothing.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import attrs

from aftersales.domain import repair_events as rev
from aftersales.domain.kernel import Aggregate, AggregateKind, QueryField
from aftersales.domain.records import Actor
from aftersales.domain.values import Money, check_text, non_blank, plain_text, require_aware
from aftersales.errors import GuardFailed, NotFound, ValidationError

__all__ = [
    "PARTS",
    "STOCK",
    "DoaRecord",
    "LocationKind",
    "Movement",
    "MovementKind",
    "Part",
    "PartOrigin",
    "PartSource",
    "PartsCatalogue",
    "Reservation",
    "Stock",
    "StockLevel",
    "StockLocation",
    "doa_by_supplier",
]

_ENTITY = "Stock"


class PartOrigin(enum.StrEnum):
    """R22/R28: an original (OEM) part or a third-party one."""

    OEM = "oem"
    THIRD_PARTY = "third_party"


class PartSource(enum.StrEnum):
    """R22: who supplies the part: our stock or the customer."""

    OURS = "ours"
    CUSTOMER = "customer"


class LocationKind(enum.StrEnum):
    """R28: stock is kept per warehouse and per engineer."""

    WAREHOUSE = "warehouse"
    ENGINEER = "engineer"


class MovementKind(enum.StrEnum):
    """R28: the kinds of stock movement in the ledger."""

    RECEIPT = "receipt"
    RESERVE = "reserve"
    ISSUE = "issue"
    RELEASE = "release"
    DEFECTIVE_RETURN = "defective_return"
    DEAD_ON_ARRIVAL = "dead_on_arrival"
    DOA_REPLACEMENT = "doa_replacement"


def _quantity(entity: str, field: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValidationError(entity, field, "must be a positive whole number")
    return value


def _uuid(entity: str, field: str, value: object) -> UUID:
    if not isinstance(value, UUID):
        raise ValidationError(entity, field, f"expected a UUID, got {type(value).__name__}")
    return value


#: The longest SKU (a query column holds it).
SKU_LENGTH = 64


def _sku(entity: str, value: object) -> str:
    return check_text(entity, "sku", value, max_length=SKU_LENGTH)


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class Part(Aggregate):
    """R28: a catalogue entry, keyed by its unique ``sku``.

    ``warranty_months`` is the part's own warranty once fitted (R21); None (the default)
    means the repair policy's ``replaced_part_warranty_months``. ``storage_media`` marks
    disks, whose data the customer may want to keep (§9).
    """

    sku: str = attrs.field(validator=non_blank("Part", SKU_LENGTH))
    name: str = attrs.field(validator=non_blank("Part", 200))
    origin: PartOrigin
    unit_price: Money
    warranty_months: int | None = None
    supplier_id: UUID | None = None
    storage_media: bool = False
    state: str = attrs.field(default="active", converter=str)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.origin, PartOrigin):
            raise ValidationError("Part", "origin", f"unknown origin {self.origin!r}")
        if not isinstance(self.unit_price, Money) or self.unit_price.amount < 0:
            raise ValidationError("Part", "unit_price", "must be non-negative Money")
        months = self.warranty_months
        if months is not None and (
            not isinstance(months, int) or isinstance(months, bool) or not 0 <= months <= 240
        ):
            raise ValidationError("Part", "warranty_months", "must be 0 to 240 months (or None)")
        if self.supplier_id is not None and not isinstance(self.supplier_id, UUID):
            raise ValidationError("Part", "supplier_id", "must be a UUID")
        if not isinstance(self.storage_media, bool):
            raise ValidationError("Part", "storage_media", "must be a bool")


def _parts(values: Iterable[Part]) -> dict[str, Part]:
    parts = tuple(values)
    if not all(isinstance(p, Part) for p in parts):
        raise ValidationError("PartsCatalogue", "parts", "must be Part values")
    by_sku = {p.sku: p for p in parts}
    if len(by_sku) != len(parts):
        raise ValidationError("PartsCatalogue", "parts", "a sku is listed twice")
    return by_sku


@attrs.frozen
class PartsCatalogue:
    """R28: the parts catalogue, by sku."""

    parts: Mapping[str, Part] = attrs.field(factory=dict, converter=_parts)

    def get(self, sku: str) -> Part:
        """The part with ``sku`` (NotFound otherwise)."""
        try:
            return self.parts[sku]
        except KeyError:
            raise NotFound("Part", sku) from None

    def __contains__(self, sku: object) -> bool:
        return sku in self.parts


@attrs.frozen
class StockLocation:
    """R28: a warehouse, or the stock an engineer carries."""

    id: UUID
    name: str = attrs.field(validator=non_blank("StockLocation", 200))
    kind: LocationKind = LocationKind.WAREHOUSE
    engineer_id: UUID | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.id, UUID):
            raise ValidationError("StockLocation", "id", "must be a UUID")
        if not isinstance(self.kind, LocationKind):
            raise ValidationError("StockLocation", "kind", f"unknown kind {self.kind!r}")
        if (self.kind is LocationKind.ENGINEER) != (self.engineer_id is not None):
            raise ValidationError(
                "StockLocation", "engineer_id", "an engineer's stock names the engineer (only)"
            )


@attrs.frozen
class StockLevel:
    """R28: units on hand and units reserved for jobs; ``available`` may be reserved."""

    on_hand: int = 0
    reserved: int = 0

    @property
    def available(self) -> int:
        """Units on hand that no job has reserved."""
        return self.on_hand - self.reserved


@attrs.frozen
class Movement:
    """R28: one line of the append-only stock ledger."""

    sequence: int
    at: datetime
    actor_id: UUID
    kind: MovementKind
    sku: str
    quantity: int
    reservation_id: UUID | None = None
    order_id: UUID | None = None
    supplier_id: UUID | None = None
    note: str = attrs.field(default="", validator=plain_text("Movement"))


@attrs.frozen
class Reservation:
    """R28: parts held for one repair order; issued and released quantities are tracked."""

    id: UUID
    order_id: UUID
    sku: str
    quantity: int
    issued: int = 0
    released: int = 0
    supplier_id: UUID | None = None

    @property
    def remaining(self) -> int:
        """Units still held for the order."""
        return self.quantity - self.issued - self.released

    @property
    def open(self) -> bool:
        """True while some units are still held."""
        return self.remaining > 0


@attrs.frozen
class DoaRecord:
    """R28/§9: a dead-on-arrival part, recorded against its supplier."""

    at: datetime
    sku: str
    supplier_id: UUID | None
    order_id: UUID
    reservation_id: UUID
    replaced: bool
    note: str = ""


def doa_by_supplier(records: Iterable[DoaRecord]) -> dict[UUID | None, int]:
    """R28: how many dead-on-arrival parts each supplier delivered (supplier assessment)."""
    return dict(Counter(r.supplier_id for r in records))


_E = TypeVar("_E", bound=rev.StockEvent)


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class Stock(Aggregate):
    """R28: the stock of one location, with its reservations and append-only movements.

    Its id is the location's id (``Stock.open(location)`` builds one).
    """

    location: StockLocation
    levels: dict[str, StockLevel] = attrs.field(factory=dict)
    reservations: dict[UUID, Reservation] = attrs.field(factory=dict)
    movements: list[Movement] = attrs.field(factory=list)
    doa: list[DoaRecord] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.location, StockLocation):
            raise ValidationError(_ENTITY, "location", "must be a StockLocation")
        if self.id != self.location.id:
            raise ValidationError(_ENTITY, "id", "a stock's id is its location's id")

    @classmethod
    def open(cls, location: StockLocation) -> Stock:
        """A new, empty stock for ``location``."""
        return cls(location.id, location)

    @property
    def name(self) -> str:
        """The location's name."""
        return self.location.name

    def level(self, sku: str) -> StockLevel:
        """The stock level of ``sku`` here (zero when never stocked)."""
        return self.levels.get(sku, StockLevel())

    def reservations_for(self, order_id: UUID) -> list[Reservation]:
        """R28: every reservation made for repair order ``order_id``."""
        return [r for r in self.reservations.values() if r.order_id == order_id]

    # --- internals ----------------------------------------------------------------------------

    def _check(self, actor: object, at: object) -> Actor:
        if not isinstance(actor, Actor):
            raise ValidationError(_ENTITY, "actor", "an Actor is required")
        require_aware(_ENTITY, "at", at)  # type: ignore[arg-type]
        return actor

    def _move(self, actor: Actor, at: datetime, kind: MovementKind, sku: str, quantity: int,
              **kw: Any) -> None:
        self.movements.append(
            Movement(len(self.movements) + 1, at, actor.id, kind, sku, quantity, **kw)
        )

    def _emit(self, cls: type[_E], actor: Actor, at: datetime, **kw: Any) -> None:
        self.emit(cls, actor_id=actor.id, at=at, **kw)

    def _reservation(self, reservation_id: object, action: str) -> Reservation:
        key = _uuid(_ENTITY, "reservation_id", reservation_id)
        found = self.reservations.get(key)
        if found is None:
            raise NotFound("Reservation", reservation_id)
        return found

    def _refuse(self, sku: str, action: str, reason: str) -> GuardFailed:
        level = self.level(sku)
        return GuardFailed(
            _ENTITY, self.location.name,
            f"holding {level.on_hand} × {sku} ({level.reserved} reserved)", action, reason,
        )

    # --- changes ------------------------------------------------------------------------------

    def receive(
        self, *, sku: str, quantity: int, actor: Actor, at: datetime,
        supplier_id: UUID | None = None, note: str = "",
    ) -> None:
        """R28: goods receipt signed off: ``quantity`` units of ``sku`` added on hand."""
        _sku(_ENTITY, sku)
        _quantity(_ENTITY, "quantity", quantity)
        if supplier_id is not None:
            _uuid(_ENTITY, "supplier_id", supplier_id)
        check_text(_ENTITY, "note", note, required=False)
        actor = self._check(actor, at)
        level = self.level(sku)
        self.levels[sku] = attrs.evolve(level, on_hand=level.on_hand + quantity)
        self._move(actor, at, MovementKind.RECEIPT, sku, quantity, supplier_id=supplier_id,
                   note=note)
        self._emit(rev.PartsReceived, actor, at, sku=sku, quantity=quantity,
                   supplier_id=supplier_id)

    def reserve(
        self, *, reservation_id: UUID, order_id: UUID, sku: str, quantity: int, actor: Actor,
        at: datetime, supplier_id: UUID | None = None,
    ) -> Reservation:
        """R28: hold ``quantity`` units of ``sku`` for repair order ``order_id``.

        Refused with GuardFailed (and nothing changed) when fewer units are available.
        """
        _uuid(_ENTITY, "reservation_id", reservation_id)
        _uuid(_ENTITY, "order_id", order_id)
        _sku(_ENTITY, sku)
        _quantity(_ENTITY, "quantity", quantity)
        actor = self._check(actor, at)
        if reservation_id in self.reservations:
            raise ValidationError(_ENTITY, "reservation_id", f"{reservation_id} already exists")
        level = self.level(sku)
        if quantity > level.available:
            raise self._refuse(
                sku, f"reserve {quantity} × {sku}",
                f"only {level.available} available (R28: order it or wait for parts)",
            )
        reservation = Reservation(reservation_id, order_id, sku, quantity,
                                  supplier_id=supplier_id)
        self.reservations[reservation_id] = reservation
        self.levels[sku] = attrs.evolve(level, reserved=level.reserved + quantity)
        self._move(actor, at, MovementKind.RESERVE, sku, quantity,
                   reservation_id=reservation_id, order_id=order_id)
        self._emit(rev.PartsReserved, actor, at, reservation_id=reservation_id,
                   order_id=order_id, sku=sku, quantity=quantity)
        return reservation

    def issue(
        self, *, reservation_id: UUID, actor: Actor, at: datetime, quantity: int = 1
    ) -> None:
        """R28: issue reserved units to the job; they leave the stock (consumption)."""
        _quantity(_ENTITY, "quantity", quantity)
        actor = self._check(actor, at)
        res = self._reservation(reservation_id, "issue")
        if quantity > res.remaining:
            raise self._refuse(res.sku, f"issue {quantity} × {res.sku}",
                               f"reservation {res.id} holds only {res.remaining}")
        level = self.level(res.sku)
        self.levels[res.sku] = StockLevel(level.on_hand - quantity, level.reserved - quantity)
        self.reservations[res.id] = attrs.evolve(res, issued=res.issued + quantity)
        self._move(actor, at, MovementKind.ISSUE, res.sku, quantity, reservation_id=res.id,
                   order_id=res.order_id)
        self._emit(rev.PartIssued, actor, at, reservation_id=res.id, sku=res.sku,
                   quantity=quantity)

    def release(self, *, reservation_id: UUID, actor: Actor, at: datetime) -> int:
        """R28: give the unused rest of a reservation back to available stock; return it."""
        actor = self._check(actor, at)
        res = self._reservation(reservation_id, "release")
        if not res.open:
            raise self._refuse(res.sku, f"release reservation {res.id}",
                               "nothing left to release")
        rest = res.remaining
        level = self.level(res.sku)
        self.levels[res.sku] = attrs.evolve(level, reserved=level.reserved - rest)
        self.reservations[res.id] = attrs.evolve(res, released=res.released + rest)
        self._move(actor, at, MovementKind.RELEASE, res.sku, rest, reservation_id=res.id,
                   order_id=res.order_id)
        self._emit(rev.PartsReleased, actor, at, reservation_id=res.id, sku=res.sku,
                   quantity=rest)
        return rest

    def return_defective(
        self, *, order_id: UUID, sku: str, actor: Actor, at: datetime, quantity: int = 1,
        supplier_id: UUID | None = None, note: str = "",
    ) -> None:
        """R28: a defective part removed from a unit is booked for return to its supplier.

        It never counts as stock on hand. (A disk the customer keeps, §9, is not returned.)
        """
        _uuid(_ENTITY, "order_id", order_id)
        _sku(_ENTITY, sku)
        _quantity(_ENTITY, "quantity", quantity)
        if supplier_id is not None:
            _uuid(_ENTITY, "supplier_id", supplier_id)
        actor = self._check(actor, at)
        self._move(actor, at, MovementKind.DEFECTIVE_RETURN, sku, quantity, order_id=order_id,
                   supplier_id=supplier_id, note=note)
        self._emit(rev.PartReturned, actor, at, order_id=order_id, sku=sku, quantity=quantity,
                   supplier_id=supplier_id)

    def dead_on_arrival(
        self, *, reservation_id: UUID, actor: Actor, at: datetime, note: str = "",
        supplier_id: UUID | None = None,
    ) -> DoaRecord:
        """R28/§9: an issued part was dead on arrival.

        The DOA is recorded against the supplier (the reservation's, unless ``supplier_id``
        names another); one unit is issued in its place when one is on hand and unreserved
        (``replaced``), otherwise the job must wait for parts.
        """
        if supplier_id is not None:
            _uuid(_ENTITY, "supplier_id", supplier_id)
        check_text(_ENTITY, "note", note, required=False)
        actor = self._check(actor, at)
        res = self._reservation(reservation_id, "report dead on arrival")
        if res.issued < 1:
            raise self._refuse(res.sku, f"report {res.sku} dead on arrival",
                               f"reservation {res.id} has issued nothing yet")
        supplier = supplier_id if supplier_id is not None else res.supplier_id
        level = self.level(res.sku)
        replaced = level.available >= 1
        record = DoaRecord(at, res.sku, supplier, res.order_id, res.id, replaced, note)
        self.doa.append(record)
        self._move(actor, at, MovementKind.DEAD_ON_ARRIVAL, res.sku, 1, reservation_id=res.id,
                   order_id=res.order_id, supplier_id=supplier, note=note)
        if replaced:
            self.levels[res.sku] = attrs.evolve(level, on_hand=level.on_hand - 1)
            self.reservations[res.id] = attrs.evolve(
                res, quantity=res.quantity + 1, issued=res.issued + 1
            )
            self._move(actor, at, MovementKind.DOA_REPLACEMENT, res.sku, 1,
                       reservation_id=res.id, order_id=res.order_id)
        self._emit(rev.PartDeadOnArrival, actor, at, reservation_id=res.id,
                   order_id=res.order_id, sku=res.sku, supplier_id=supplier, replaced=replaced)
        return record


PARTS: AggregateKind[Part] = AggregateKind(
    cls=Part,
    entity="Part",
    table="parts",
    fields=[
        QueryField("sku", str, unique=True, max_length=SKU_LENGTH),
        QueryField("name", str, max_length=200),
        QueryField("supplier_id", UUID),
    ],
    order_by=["sku"],
    workflows=["file"],
    description="R28 the parts catalogue",
)

STOCK: AggregateKind[Stock] = AggregateKind(
    cls=Stock,
    entity="Stock",
    table="stock",
    fields=[
        QueryField("name", str, max_length=200),
        QueryField("location_kind", str, get=lambda s: s.location.kind, max_length=40),
        QueryField("engineer_id", UUID, get=lambda s: s.location.engineer_id),
    ],
    order_by=["name"],
    description="R28 stock per location",
)

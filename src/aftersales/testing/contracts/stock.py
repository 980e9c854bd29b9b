"""Examples of stock locations (R28): opened, then moved by goods receipts, reservations for
repair orders, issues, releases, defective returns and dead-on-arrival reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4, uuid5

import attrs
from hypothesis import strategies as st

from aftersales.domain.parts import STOCK, LocationKind, Stock, StockLocation
from aftersales.domain.repair_events import StockLocationOpened
from aftersales.errors import AftersalesError
from aftersales.ports import UnitOfWork
from aftersales.testing.contracts._shipped import CLERK, ENGINEER, refer_actors
from aftersales.testing.contracts._support import ids, instants, names, texts, timezones
from aftersales.testing.contracts.kind import KindExamples

__all__ = ["StockExamples"]

_OPENED = datetime(2024, 5, 1, 8, 30, tzinfo=timezone(timedelta(hours=8)))
_SKUS = ["VR-1", "硬盘-2TB", "FAN-80", "KB-CN"]


def _open(location: StockLocation, at: datetime) -> Stock:
    stock = Stock.open(location)
    stock.emit(StockLocationOpened, actor_id=CLERK.id, at=at, location=location.name,
               location_kind=location.kind.value, engineer_id=location.engineer_id)
    return stock


@attrs.frozen
class _Op:
    """One stock operation with its arguments."""

    name: str
    sku: str
    quantity: int
    pick: int  # which reservation, modulo how many there are
    note: str


def _reservation(stock: Stock, op: _Op, wanted: Callable[[Any], bool]) -> Any:
    found = [r for r in stock.reservations.values() if wanted(r)]
    return found[op.pick % len(found)] if found else None


def _apply(stock: Stock, op: _Op, at: datetime) -> bool:
    """Apply ``op`` if the stock accepts it now; True if it did."""
    try:
        if op.name == "receive":
            stock.receive(sku=op.sku, quantity=op.quantity, actor=CLERK, at=at, note=op.note,
                          supplier_id=uuid5(stock.id, op.sku))
        elif op.name == "reserve":
            stock.reserve(reservation_id=uuid4(), order_id=uuid5(stock.id, f"order {op.pick}"),
                          sku=op.sku, quantity=op.quantity, actor=CLERK, at=at)
        elif op.name == "issue":
            res = _reservation(stock, op, lambda r: r.open)
            if res is None:
                return False
            stock.issue(reservation_id=res.id, actor=ENGINEER, at=at,
                        quantity=min(op.quantity, res.remaining))
        elif op.name == "release":
            res = _reservation(stock, op, lambda r: r.open)
            if res is None:
                return False
            stock.release(reservation_id=res.id, actor=CLERK, at=at)
        elif op.name == "defective":
            stock.return_defective(order_id=uuid5(stock.id, "order 0"), sku=op.sku,
                                   actor=ENGINEER, at=at, note=op.note)
        else:
            res = _reservation(stock, op, lambda r: r.issued > 0)
            if res is None:
                return False
            stock.dead_on_arrival(reservation_id=res.id, actor=ENGINEER, at=at, note=op.note)
    except AftersalesError:
        return False
    return True


_ops = st.builds(
    _Op, st.sampled_from(["receive", "reserve", "issue", "release", "defective", "doa"]),
    st.sampled_from(_SKUS), st.integers(1, 5), st.integers(0, 7), texts(),
)
#: The change the contract makes: a receipt, a reservation, an issue, a release, in turn.
_CYCLE = [_Op("receive", "VR-1", 3, 0, "入库"), _Op("reserve", "VR-1", 1, 0, ""),
          _Op("issue", "VR-1", 1, 0, ""), _Op("release", "VR-1", 1, 0, "")]


class StockExamples(KindExamples[Stock]):
    """R28: warehouses and engineers' stock with their ledgers."""

    kind = STOCK

    def make(self, n: int) -> list[Stock]:
        return [_open(StockLocation(uuid4(), f"备件仓 {i}"), _OPENED) for i in range(n)]

    def change(self, item: Stock, at: datetime) -> bool:
        for offset in range(len(_CYCLE)):
            if _apply(item, _CYCLE[(len(item.movements) + offset) % len(_CYCLE)], at):
                return True
        return _apply(item, _CYCLE[0], at)

    def examples(self, engineer: UUID | None = None) -> st.SearchStrategy[Stock]:
        @st.composite
        def build(draw: st.DrawFn) -> Stock:
            if engineer is not None or draw(st.booleans()):
                location = StockLocation(draw(ids), draw(names(200)), LocationKind.ENGINEER,
                                         engineer or draw(ids))
            else:
                location = StockLocation(draw(ids), draw(st.sampled_from(["总仓", "Depot A"])
                                                          | names(200)))
            at = draw(instants())
            stock = _open(location, at)
            for op in draw(st.lists(_ops, max_size=12)):
                at = (at + timedelta(seconds=draw(st.integers(1, 86_400)))).astimezone(
                    draw(timezones))
                _apply(stock, op, at)
            return stock

        return build()

    def batches(self) -> st.SearchStrategy[list[Stock]]:
        return ids.flatmap(lambda e: st.lists(self.examples(e) | self.examples(), min_size=1,
                                              max_size=5))

    def refer(self, uow: UnitOfWork, items: Sequence[Stock]) -> None:
        refer_actors(uow, {s.location.engineer_id for s in items}
                     | {m.actor_id for s in items for m in s.movements})

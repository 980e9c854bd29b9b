"""The storage contract suite: the tests every adapter of :mod:`aftersales.ports` must pass,
for every aggregate kind it holds — the shipped ones and yours.

Shipped in the package (like ``eventsourcing``'s persistence tests) so that a store you write
yourself, and a kind you declare yourself, prove themselves with the very tests the shipped
in-memory and SQL adapters pass. See ``docs/contracts.md``.

- :class:`KindContract`: the generic tests (round trips, ``get``/``get_by``/``find``,
  uniqueness, transactions, optimistic concurrency and the read set, events, the R9 record,
  the outbox), run once per :class:`KindExamples` in ``kind_examples``;
- :class:`KindExamples`: how the suite makes and changes aggregates of one kind (subclass it
  for your own kind); :data:`SHIPPED_KINDS` holds one per shipped kind, built through the real
  workflow steps;
- :class:`IdempotencyContract`: the idempotency records of a unit of work;
- :class:`StorageContract`: all of it for every shipped kind — what an adapter runs;
- one ready class per shipped kind (:class:`ActorContract` ... :class:`StockContract`).

Every class takes the adapter hooks of :class:`AdapterHooks` (``make_uow_factory``,
``make_outbox``, and optionally ``tamper`` and ``poison``)::

    class TestMyStore(StorageContract):
        def make_uow_factory(self):
            self.store = MyStore(url)
            return self.store.unit_of_work

        def make_outbox(self):
            return self.store.outbox()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from aftersales.testing.contracts.cross import CrossKindTests
from aftersales.testing.contracts.files import (
    ActorExamples,
    ContractAmendment,
    CustomerExamples,
    EquipmentExamples,
    PartExamples,
    ServicePlanExamples,
    VendorExamples,
    amend,
)
from aftersales.testing.contracts.hooks import AdapterHooks
from aftersales.testing.contracts.idempotency import IdempotencyContract
from aftersales.testing.contracts.kind import KindExamples
from aftersales.testing.contracts.outbox import OutboxTests
from aftersales.testing.contracts.record import RecordTests
from aftersales.testing.contracts.repairs import OutsourcedRepairExamples, RepairOrderExamples
from aftersales.testing.contracts.repository import RepositoryTests
from aftersales.testing.contracts.requests import RequestExamples
from aftersales.testing.contracts.stock import StockExamples
from aftersales.testing.contracts.transactions import TransactionTests

__all__ = [
    "SHIPPED_KINDS",
    "ActorContract",
    "ActorExamples",
    "AdapterHooks",
    "ContractAmendment",
    "CrossKindTests",
    "CustomerContract",
    "CustomerExamples",
    "EquipmentContract",
    "EquipmentExamples",
    "IdempotencyContract",
    "KindContract",
    "KindExamples",
    "OutboxTests",
    "OutsourcedRepairContract",
    "OutsourcedRepairExamples",
    "PartContract",
    "PartExamples",
    "RecordTests",
    "RepairOrderContract",
    "RepairOrderExamples",
    "RepositoryTests",
    "RequestContract",
    "RequestExamples",
    "ServicePlanContract",
    "ServicePlanExamples",
    "StockContract",
    "StockExamples",
    "StorageContract",
    "TransactionTests",
    "VendorContract",
    "VendorExamples",
    "amend",
]

#: One :class:`KindExamples` per shipped kind, in the order of ``aftersales.domain.KINDS``.
SHIPPED_KINDS: tuple[KindExamples[Any], ...] = (
    ActorExamples(), CustomerExamples(), EquipmentExamples(), ServicePlanExamples(),
    RequestExamples(), RepairOrderExamples(), OutsourcedRepairExamples(), VendorExamples(),
    PartExamples(), StockExamples(),
)


class KindContract(RepositoryTests, TransactionTests, RecordTests, OutboxTests, CrossKindTests):
    """Every generic storage test, once per entry of ``kind_examples``::

        class TestLoanersInMemory(KindContract):
            kind_examples = (LoanerExamples(),)

            def make_uow_factory(self):
                self.store = InMemoryStore(kinds=Kinds(KINDS).plus(LOANERS))
                return self.store.unit_of_work
    """


class StorageContract(KindContract, IdempotencyContract):
    """The whole suite on every shipped kind: subclass it with your adapter hooks. Add your
    own kinds with ``kind_examples = (*SHIPPED_KINDS, MyKindExamples())``."""

    kind_examples: ClassVar[Sequence[KindExamples[Any]]] = SHIPPED_KINDS


def _one(examples: KindExamples[Any], doc: str) -> type[KindContract]:
    cls = type(f"{type(examples).__name__.removesuffix('Examples')}Contract", (KindContract,),
               {"kind_examples": (examples,), "__doc__": doc, "__module__": __name__})
    return cls


ActorContract = _one(SHIPPED_KINDS[0], "The suite on R30 actors only.")
CustomerContract = _one(SHIPPED_KINDS[1], "The suite on R1 customer files only.")
EquipmentContract = _one(SHIPPED_KINDS[2], "The suite on R2 equipment files only.")
ServicePlanContract = _one(SHIPPED_KINDS[3], "The suite on R4 service plans only.")
RequestContract = _one(SHIPPED_KINDS[4], "The suite on service requests only.")
RepairOrderContract = _one(SHIPPED_KINDS[5], "The suite on R13 repair orders only.")
OutsourcedRepairContract = _one(SHIPPED_KINDS[6], "The suite on R14 outsourced repairs only.")
VendorContract = _one(SHIPPED_KINDS[7], "The suite on R14 vendors only.")
PartContract = _one(SHIPPED_KINDS[8], "The suite on R28 catalogue parts only.")
StockContract = _one(SHIPPED_KINDS[9], "The suite on R28 stock locations only.")

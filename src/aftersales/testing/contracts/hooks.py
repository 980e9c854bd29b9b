"""What the contract suite needs from your adapter: a unit-of-work factory, its outbox, and
two ways to damage it from outside (for the tamper and poison tests)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import pytest

from aftersales.domain.kernel import AggregateKind, RecordEntry
from aftersales.ports import Outbox
from aftersales.testing.contracts._support import UowFactory

__all__ = ["AdapterHooks"]


class AdapterHooks:
    """The adapter side of every contract class: implement :meth:`make_uow_factory` (and
    :meth:`make_outbox` for the outbox tests); :meth:`tamper` and :meth:`poison` let the
    suite prove that damage done behind the store's back is found (tests that need them are
    skipped when you do not implement them).

    ``make_uow_factory`` is called once per test, on a fresh instance of your class, before
    ``make_outbox``. A fresh, empty store per test is fastest; a shared one works too (every
    aggregate has fresh ids and unique values, and assertions look only at the test's own
    data), except that the outbox tests first mark every pending message as published: use
    a test database, and do not run the suite from several processes against one database.
    """

    def make_uow_factory(self) -> UowFactory:
        """A callable that makes a new :class:`~aftersales.ports.UnitOfWork` per call; every
        unit of work it makes sees what the others committed."""
        raise NotImplementedError("implement make_uow_factory() in your contract subclass")

    def make_outbox(self) -> Outbox:
        """The :class:`~aftersales.ports.Outbox` of the store behind :meth:`make_uow_factory`."""
        raise NotImplementedError("implement make_outbox() in your contract subclass")

    def tamper(
        self, kind: AggregateKind[Any], item_id: UUID, record: Sequence[RecordEntry]
    ) -> None:
        """R9: make the stored record of aggregate ``item_id`` of ``kind`` equal ``record``
        without a unit of work, as someone with write access to your storage would (an
        UPDATE, DELETE or INSERT on the rows). The suite passes the stored record with one
        entry edited, the newest entry deleted, or one well-chained entry appended; loading
        the aggregate afterwards must raise StorageError naming it."""
        pytest.skip("the adapter offers no tamper() hook")

    def poison(self, event_id: UUID) -> None:
        """Make the outbox row of event ``event_id`` unreadable (a corrupt payload); the
        outbox must set it aside (``failed()``) and let the others flow."""
        pytest.skip("the adapter offers no poison() hook")

    @pytest.fixture
    def uow_factory(self) -> UowFactory:
        """The unit-of-work factory of this test."""
        return self.make_uow_factory()

    @pytest.fixture
    def outbox(self, uow_factory: UowFactory) -> Outbox:
        """The outbox of this test's store."""
        return self.make_outbox()

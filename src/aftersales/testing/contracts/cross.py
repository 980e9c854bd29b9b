"""Tests of the contract suite across kinds: one commit path writes every aggregate a unit
of work touched, whatever its kind, atomically."""

from __future__ import annotations

from typing import Any

import pytest

from aftersales.domain.kernel import Aggregate, AggregateEvent
from aftersales.errors import ConcurrencyConflict
from aftersales.ports import Outbox
from aftersales.testing.contracts._support import Clock, UowFactory, snapshot
from aftersales.testing.contracts.base import (
    KindTests,
    absent,
    change,
    load,
    prepare,
    repo,
    store,
)
from aftersales.testing.contracts.kind import KindExamples
from aftersales.testing.contracts.outbox import drain, in_outbox_order, ours

__all__ = ["CrossKindTests"]


class CrossKindTests(KindTests):
    """Units of work that touch one aggregate of every kind under test at once."""

    def _stored(self, uow_factory: UowFactory) -> list[tuple[KindExamples[Any], Aggregate]]:
        found = []
        for spec in self.kind_examples:
            item = spec.make(1)[0]
            store(uow_factory, spec, [item])
            found.append((spec, item))
        return found

    def test_one_commit_writes_every_kind_it_touched(
        self, uow_factory: UowFactory, outbox: Outbox, now: Clock
    ) -> None:
        """One unit of work adds an aggregate of every kind and changes a stored one of every
        kind: after its commit each reads back as written, and every event waits in the
        outbox, each aggregate's in sequence order."""
        stored = self._stored(uow_factory)
        new = [(spec, spec.make(1)[0]) for spec in self.kind_examples]
        for spec, item in new:
            prepare(uow_factory, spec, [item])
        drain(outbox)
        expected: dict[Any, Any] = {}
        with uow_factory() as uow:
            for spec, item in stored:
                loaded = repo(uow, spec).get(item.id)
                change(spec, loaded, now())
                expected[item.id] = (spec, snapshot(loaded))
            for spec, item in new:
                repo(uow, spec).add(item)
                expected[item.id] = (spec, snapshot(item))
            uow.commit()
            events: list[AggregateEvent] = uow.collect_new_events()
        for item_id, (spec, data) in expected.items():
            assert snapshot(load(uow_factory, spec, item_id)) == data, spec
        messages = ours(outbox, expected)
        assert [m.event_id for m in messages] == [
            e.event_id for e in in_outbox_order(events, messages)
        ]
        assert {m.aggregate_id for m in messages} == set(expected)

    def test_a_conflict_on_one_kind_stores_nothing_of_any_kind(
        self, uow_factory: UowFactory, now: Clock
    ) -> None:
        """A unit of work that adds an aggregate of every kind and loses a race on one
        stored aggregate writes none of them."""
        stored = self._stored(uow_factory)
        contested_spec, contested = stored[-1]
        new = [(spec, spec.make(1)[0]) for spec in self.kind_examples]
        for spec, item in new:
            prepare(uow_factory, spec, [item])
        with uow_factory() as loser, uow_factory() as winner:
            for spec, item in new:
                repo(loser, spec).add(item)
            change(contested_spec, repo(loser, contested_spec).get(contested.id), now())
            change(contested_spec, repo(winner, contested_spec).get(contested.id), now())
            winner.commit()
            with pytest.raises(ConcurrencyConflict):
                loser.commit()
        for spec, item in new:
            absent(uow_factory, spec, item)

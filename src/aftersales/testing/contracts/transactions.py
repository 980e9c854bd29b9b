"""Unit-of-work tests of the contract suite: commit and rollback, optimistic concurrency,
the read set, and the events a commit produced."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.errors import ConcurrencyConflict
from aftersales.testing.contracts._support import (
    HEAVY,
    Clock,
    UowFactory,
    snapshot,
)
from aftersales.testing.contracts.base import (
    KindTests,
    absent,
    change,
    key,
    load,
    prepare,
    reads_of,
    repo,
    store,
)
from aftersales.testing.contracts.kind import KindExamples

__all__ = ["TransactionTests"]


class _Boom(Exception):
    """Raised inside a unit of work by the tests."""


class TransactionTests(KindTests):
    """Atomic commits, rollback, optimistic concurrency and the read set, for every kind."""

    def _staged(
        self, uow_factory: UowFactory, spec: KindExamples[Any]
    ) -> tuple[Any, Any, Any]:
        stored, new = spec.make(2)
        store(uow_factory, spec, [stored])
        prepare(uow_factory, spec, [new])
        return stored, new, snapshot(load(uow_factory, spec, stored.id))

    def _unchanged(self, uow_factory: UowFactory, spec: KindExamples[Any], stored: Any,
                   before: Any, new: Any, scope: str) -> None:
        loaded = load(uow_factory, spec, stored.id)
        assert (snapshot(loaded), loaded.version) == (before, 1)
        absent(uow_factory, spec, new)
        with uow_factory() as uow:
            assert uow.idempotency.get(scope) is None

    def test_nothing_is_stored_without_commit(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """Leaving the ``with`` block without ``commit`` discards the added aggregate, the
        change and the idempotency record; no events are collected."""
        stored, new, before = self._staged(uow_factory, spec)
        record = key(new.id, spec.kind)
        with uow_factory() as uow:
            repo(uow, spec).add(new)
            change(spec, repo(uow, spec).get(stored.id), now())
            uow.idempotency.put(record)
        assert uow.collect_new_events() == []
        self._unchanged(uow_factory, spec, stored, before, new, record.scope)

    def test_an_exception_inside_the_block_propagates_and_stores_nothing(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """An exception raised inside ``with`` propagates; nothing staged is stored."""
        stored, new, before = self._staged(uow_factory, spec)
        record = key(new.id, spec.kind)
        with pytest.raises(_Boom), uow_factory() as uow:
            repo(uow, spec).add(new)
            change(spec, repo(uow, spec).get(stored.id), now())
            uow.idempotency.put(record)
            raise _Boom
        self._unchanged(uow_factory, spec, stored, before, new, record.scope)

    def test_rollback_forgets_what_was_staged(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """After ``rollback`` a later ``commit`` of the same unit of work stores nothing, and
        reads return the stored state again (not the discarded working copy)."""
        stored, new, before = self._staged(uow_factory, spec)
        record = key(new.id, spec.kind)
        with uow_factory() as uow:
            repo(uow, spec).add(new)
            changed = repo(uow, spec).get(stored.id)
            change(spec, changed, now())
            uow.idempotency.put(record)
            uow.rollback()
            again = repo(uow, spec).get(stored.id)
            assert again is not changed
            assert snapshot(again) == before
            uow.commit()
            assert uow.collect_new_events() == []
        self._unchanged(uow_factory, spec, stored, before, new, record.scope)

    def test_a_unit_of_work_that_loses_a_race_stores_none_of_its_changes(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """A commit that raises ConcurrencyConflict writes nothing: not the aggregate it
        added, not its idempotency record, not its events."""
        stored, new, _ = self._staged(uow_factory, spec)
        record = key(new.id, spec.kind)
        with uow_factory() as loser, uow_factory() as winner:
            repo(loser, spec).add(new)
            change(spec, repo(loser, spec).get(stored.id), now())
            loser.idempotency.put(record)
            won = repo(winner, spec).get(stored.id)
            change(spec, won, now())
            expected = snapshot(won)
            winner.commit()
            with pytest.raises(ConcurrencyConflict):
                loser.commit()
            assert loser.collect_new_events() == []
        loaded = load(uow_factory, spec, stored.id)
        assert (snapshot(loaded), loaded.version) == (expected, 2)
        absent(uow_factory, spec, new)
        with uow_factory() as uow:
            assert uow.idempotency.get(record.scope) is None

    def test_one_unit_of_work_may_commit_again_after_a_commit(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """A unit of work can go on after ``commit``: its next reads are fresh, its next
        commit stores the next change (version 1, 2, 3)."""
        item = spec.make(1)[0]
        prepare(uow_factory, spec, [item])
        with uow_factory() as uow:
            repo(uow, spec).add(item)
            uow.commit()
            assert item.version == 1
            for version in (2, 3):
                loaded = repo(uow, spec).get(item.id)
                change(spec, loaded, now())
                expected = snapshot(loaded)
                uow.commit()
                assert loaded.version == version
        loaded = load(uow_factory, spec, item.id)
        assert (snapshot(loaded), loaded.version) == (expected, 3)

    # --- optimistic concurrency and the read set -------------------------------------------

    def test_two_units_of_work_changing_one_aggregate_conflict(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """Both change the same aggregate: the first commit wins; the second raises
        ConcurrencyConflict, collects no events, and the first one's change stays."""
        item = spec.make(1)[0]
        store(uow_factory, spec, [item])
        with uow_factory() as first, uow_factory() as second:
            a = repo(first, spec).get(item.id)
            b = repo(second, spec).get(item.id)
            change(spec, a, now())
            change(spec, b, now())
            expected = snapshot(a)
            assert snapshot(b) != expected, f"{spec!r}: change() made no difference"
            first.commit()
            with pytest.raises(ConcurrencyConflict):
                second.commit()
            assert second.collect_new_events() == []
        loaded = load(uow_factory, spec, item.id)
        assert (snapshot(loaded), loaded.version) == (expected, 2)

    def test_changes_in_successive_units_of_work_do_not_conflict(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """Each change made after the previous commit succeeds; the version grows by one per
        commit, in the store and in the committed working copy."""
        item = spec.make(1)[0]
        store(uow_factory, spec, [item])
        for version in (2, 3, 4):
            with uow_factory() as uow:
                loaded = repo(uow, spec).get(item.id)
                assert loaded.version == version - 1
                change(spec, loaded, now())
                expected = snapshot(loaded)
                uow.commit()
                assert (loaded.version, loaded.pending_events) == (version, [])
            again = load(uow_factory, spec, item.id)
            assert (snapshot(again), again.version) == (expected, version)

    def test_an_aggregate_read_for_a_decision_and_changed_meanwhile_fails_the_commit(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """The read set: a unit of work that read an aggregate (by ``get``, ``get_by`` or
        ``find``) and writes something else cannot commit once another unit of work changed
        what it read (ConcurrencyConflict, nothing stored)."""
        item = spec.make(1)[0]
        store(uow_factory, spec, [item])
        for read in reads_of(spec, item).values():
            new = spec.make(1)[0]
            prepare(uow_factory, spec, [new])
            with uow_factory() as reader, uow_factory() as writer:
                read(repo(reader, spec))
                repo(reader, spec).add(new)
                change(spec, repo(writer, spec).get(item.id), now())
                writer.commit()
                with pytest.raises(ConcurrencyConflict):
                    reader.commit()
            absent(uow_factory, spec, new)

    def test_aggregates_that_were_only_read_do_not_conflict(
        self, uow_factory: UowFactory, spec: KindExamples[Any]
    ) -> None:
        """Two units of work both read an aggregate and each add another: reading does not
        conflict with reading. (A database that lets one writer at a time commit, such as
        SQLite, may abort the second transaction as a whole; that conflict must not blame
        the aggregate read, and the retry must succeed.)"""
        item, one, two = spec.make(3)
        store(uow_factory, spec, [item])
        prepare(uow_factory, spec, [one, two])
        with uow_factory() as first, uow_factory() as second:
            repo(first, spec).get(item.id)
            repo(second, spec).get(item.id)
            repo(first, spec).add(one)
            repo(second, spec).add(two)
            first.commit()
            try:
                second.commit()
            except ConcurrencyConflict as conflict:
                assert conflict.retryable
                assert conflict.entity_id not in (item.id, one.id, two.id), conflict
                with uow_factory() as retry:
                    repo(retry, spec).get(item.id)
                    repo(retry, spec).add(two)
                    retry.commit()
        assert {load(uow_factory, spec, i.id).id for i in (one, two)} == {one.id, two.id}

    # --- events -----------------------------------------------------------------------------

    @HEAVY
    @given(data=st.data())
    def test_committed_events_are_collected_once_in_order(
        self, uow_factory: UowFactory, spec: KindExamples[Any], data: st.DataObject
    ) -> None:
        """``collect_new_events`` returns nothing before the commit, then exactly the events
        the commit wrote, in order, once."""
        item = data.draw(spec.examples(), label="item")
        expected = list(item.pending_events)
        prepare(uow_factory, spec, [item])
        with uow_factory() as uow:
            repo(uow, spec).add(item)
            assert uow.collect_new_events() == []
            uow.commit()
            events = uow.collect_new_events()
            assert uow.collect_new_events() == []
        assert events == expected
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))
        assert load(uow_factory, spec, item.id).event_sequence == len(events)

    def test_a_changes_events_are_numbered_on_from_the_stored_ones(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """The events of a change of a stored aggregate continue its sequence; a unit of
        work collects the events of every aggregate it wrote, each aggregate's in order."""
        item, other = spec.make(2)
        opened = store(uow_factory, spec, [item])
        prepare(uow_factory, spec, [other])
        with uow_factory() as uow:
            loaded = repo(uow, spec).get(item.id)
            first = change(spec, loaded, now())
            second = change(spec, loaded, now())
            added = list(other.pending_events)
            repo(uow, spec).add(other)
            uow.commit()
            events = uow.collect_new_events()
        assert events == [*first, *second, *added]
        numbers = [e.sequence for e in (*first, *second)]
        assert numbers == list(range(len(opened) + 1, len(opened) + 1 + len(numbers)))
        assert load(uow_factory, spec, item.id).event_sequence == numbers[-1]


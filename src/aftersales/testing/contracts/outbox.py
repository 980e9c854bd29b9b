"""Outbox tests of the contract suite: committed events wait, in (aggregate, sequence)
order, until published; nothing uncommitted appears; a poisoned row is set aside."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.domain.kernel import AggregateEvent
from aftersales.errors import ConcurrencyConflict
from aftersales.ports import Outbox, OutboxMessage
from aftersales.serialization import event_to_dict
from aftersales.testing.contracts._support import HEAVY, Clock, UowFactory, same_instant
from aftersales.testing.contracts.base import KindTests, change, prepare, repo, store
from aftersales.testing.contracts.kind import KindExamples

__all__ = ["OutboxTests"]

_ALL = 100_000


def drain(outbox: Outbox) -> None:
    """Mark everything pending as published (each outbox test starts from an empty outbox)."""
    while batch := outbox.pending(limit=1000):
        outbox.mark_published([m.event_id for m in batch])


def ours(outbox: Outbox, aggregate_ids: Iterable[UUID]) -> list[OutboxMessage]:
    """The pending messages of ``aggregate_ids``, in the outbox's order."""
    wanted = set(aggregate_ids)
    return [m for m in outbox.pending(limit=_ALL) if m.aggregate_id in wanted]


def in_outbox_order(
    events: Iterable[AggregateEvent], messages: Iterable[OutboxMessage] = ()
) -> list[AggregateEvent]:
    """``events`` as the outbox must hand them out: grouped by aggregate, each aggregate's in
    sequence order. Aggregates come in the order of ``messages`` (a storage may order ids
    its own way: MariaDB's ``uuid`` type does), else by id."""
    first: dict[UUID, int] = {}
    for message in messages:
        first.setdefault(message.aggregate_id, len(first))
    return sorted(events, key=lambda e: (first.get(e.aggregate_id, len(first)),
                                         e.aggregate_id, e.sequence))


def assert_message(message: OutboxMessage, event: AggregateEvent) -> None:
    """``message`` carries ``event``: its id, aggregate, sequence, name, time and payload."""
    assert (message.event_id, message.aggregate_id, message.sequence, message.name) == (
        event.event_id, event.aggregate_id, event.sequence, event.name
    )
    assert message.aggregate_type == event.aggregate_type
    assert same_instant(message.occurred_at, event.occurred_at)
    assert message.payload == event_to_dict(event)


class OutboxTests(KindTests):
    """The transactional outbox, fed by the kind under test."""

    def test_committed_events_wait_in_the_outbox_with_their_payload_until_published(
        self, uow_factory: UowFactory, outbox: Outbox, spec: KindExamples[Any], now: Clock
    ) -> None:
        """Every committed event is pending once, in (aggregate, sequence) order, with
        ``payload == event_to_dict(event)``; ``limit`` caps the batch; ``mark_published``
        removes exactly the events named (twice is harmless, unknown ids are ignored)."""
        items = spec.make(2)
        prepare(uow_factory, spec, items)
        drain(outbox)
        committed = store(uow_factory, spec, items, refer=False)
        with uow_factory() as uow:
            change(spec, repo(uow, spec).get(items[0].id), now())
            uow.commit()
            committed += uow.collect_new_events()
        messages = outbox.pending(limit=_ALL)
        expected = in_outbox_order(committed, messages)
        assert [m.event_id for m in messages] == [e.event_id for e in expected]
        for message, event in zip(messages, expected, strict=True):
            assert_message(message, event)
        assert outbox.pending(limit=0) == []
        assert [m.event_id for m in outbox.pending(limit=1)] == [expected[0].event_id]
        outbox.mark_published([expected[0].event_id])
        assert [m.event_id for m in outbox.pending(limit=_ALL)] == [
            e.event_id for e in expected[1:]
        ]
        rest = [e.event_id for e in expected[1:]]
        outbox.mark_published(rest)
        outbox.mark_published(rest)
        outbox.mark_published([uuid4()])
        outbox.mark_published([])
        assert outbox.pending(limit=_ALL) == []

    @HEAVY
    @given(data=st.data())
    def test_events_of_interleaved_commits_wait_in_aggregate_and_sequence_order(
        self, uow_factory: UowFactory, outbox: Outbox, spec: KindExamples[Any], now: Clock,
        data: st.DataObject,
    ) -> None:
        """Aggregates changed in interleaved commits: each committed event is pending once,
        by aggregate, then sequence, whatever the order of the commits."""
        items = spec.make(data.draw(st.integers(1, 3), label="aggregates"))
        prepare(uow_factory, spec, items)
        drain(outbox)
        committed = store(uow_factory, spec, items, refer=False)
        order = data.draw(st.lists(st.sampled_from(items), max_size=6), label="changes")
        for item in order:
            with uow_factory() as uow:
                if spec.change(repo(uow, spec).get(item.id), now()):
                    uow.commit()
                    committed += uow.collect_new_events()
        messages = ours(outbox, [i.id for i in items])
        expected = in_outbox_order(committed, messages)
        assert [m.event_id for m in messages] == [e.event_id for e in expected]
        for message, event in zip(messages, expected, strict=True):
            assert_message(message, event)
        outbox.mark_published([m.event_id for m in messages])
        assert ours(outbox, [i.id for i in items]) == []

    def test_events_of_a_unit_of_work_that_did_not_commit_never_reach_the_outbox(
        self, uow_factory: UowFactory, outbox: Outbox, spec: KindExamples[Any], now: Clock
    ) -> None:
        """Events of a unit of work left without commit, failed by an exception, rolled
        back or beaten in a race are never pending; the winner's are."""
        item = spec.make(1)[0]
        store(uow_factory, spec, [item])
        drain(outbox)
        with uow_factory() as uow:
            change(spec, repo(uow, spec).get(item.id), now())
        with pytest.raises(RuntimeError), uow_factory() as uow:
            change(spec, repo(uow, spec).get(item.id), now())
            raise RuntimeError("boom")
        with uow_factory() as uow:
            change(spec, repo(uow, spec).get(item.id), now())
            uow.rollback()
            uow.commit()
        with uow_factory() as winner, uow_factory() as loser:
            won = change(spec, repo(winner, spec).get(item.id), now())
            change(spec, repo(loser, spec).get(item.id), now())
            winner.commit()
            with pytest.raises(ConcurrencyConflict):
                loser.commit()
        messages = outbox.pending(limit=_ALL)
        assert [m.event_id for m in messages] == [e.event_id for e in won]
        for message, event in zip(messages, won, strict=True):
            assert_message(message, event)

    def test_a_poisoned_outbox_row_is_set_aside_and_the_others_flow(
        self, uow_factory: UowFactory, outbox: Outbox, spec: KindExamples[Any], now: Clock
    ) -> None:
        """A row whose payload cannot be read (the ``poison`` hook) is left out of
        ``pending`` and listed by ``failed`` with its error; the later events of its aggregate
        wait behind it (an aggregate's events never arrive out of order), and every other
        aggregate's rows, and events they commit later, keep flowing."""
        items = spec.make(2)
        prepare(uow_factory, spec, items)
        drain(outbox)
        committed = store(uow_factory, spec, items, refer=False)
        committed = in_outbox_order(committed, outbox.pending(limit=_ALL))
        poisoned = committed[0]
        self.poison(poisoned.event_id)
        rest = [e.event_id for e in committed[1:] if e.aggregate_id != poisoned.aggregate_id]
        assert [m.event_id for m in outbox.pending(limit=_ALL)] == rest
        failed = dict(outbox.failed())
        assert poisoned.event_id in failed
        assert failed[poisoned.event_id].strip()
        assert [m.event_id for m in outbox.pending(limit=_ALL)] == rest
        outbox.mark_published(rest)
        other = next(i for i in items if i.id != poisoned.aggregate_id)
        with uow_factory() as uow:
            later = change(spec, repo(uow, spec).get(other.id), now())
            uow.commit()
        assert [m.event_id for m in outbox.pending(limit=_ALL)] == [e.event_id for e in later]
        held = next(i for i in items if i.id == poisoned.aggregate_id)
        with uow_factory() as uow:
            change(spec, repo(uow, spec).get(held.id), now())
            uow.commit()
        assert [m.event_id for m in outbox.pending(limit=_ALL)] == [e.event_id for e in later]
        assert poisoned.event_id in dict(outbox.failed())

    def test_the_events_before_a_poisoned_one_flow_and_a_batch_is_never_cut_short(
        self, uow_factory: UowFactory, outbox: Outbox, spec: KindExamples[Any], now: Clock
    ) -> None:
        """An aggregate's events committed before its poisoned one are still delivered (only
        the later ones wait), and a batch read with a small ``limit`` is full while
        deliverable rows remain: the relay loop ``while batch := pending(limit=1)`` ships
        every deliverable row, however the poisoned one falls across batches."""
        items = spec.make(2)
        prepare(uow_factory, spec, items)
        drain(outbox)
        first = store(uow_factory, spec, items, refer=False)
        victim = items[0]
        with uow_factory() as uow:
            second = change(spec, repo(uow, spec).get(victim.id), now())
            uow.commit()
        with uow_factory() as uow:
            third = change(spec, repo(uow, spec).get(victim.id), now())
            uow.commit()
        self.poison(second[0].event_id)
        held = {e.event_id for e in second[1:] + third}
        expected = [e.event_id for e in in_outbox_order(first)]
        shipped: list[UUID] = []
        while batch := outbox.pending(limit=1):
            assert len(batch) == 1
            shipped += [m.event_id for m in batch if m.aggregate_id in {i.id for i in items}]
            outbox.mark_published([m.event_id for m in batch])
        assert sorted(shipped, key=str) == sorted(expected, key=str)
        assert not held & set(shipped)
        assert second[0].event_id in dict(outbox.failed())

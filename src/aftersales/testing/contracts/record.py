"""R9 tests of the contract suite: the record only grows, in a working copy and in the
store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.domain.kernel import RecordEntry, entry_digest
from aftersales.errors import StorageError
from aftersales.testing.contracts._support import HEAVY, Clock, UowFactory, snapshot
from aftersales.testing.contracts.base import (
    KindTests,
    absent,
    change,
    load,
    prepare,
    reads_of,
    repo,
    store,
    with_record,
)
from aftersales.testing.contracts.kind import KindExamples

__all__ = ["RecordTests", "appended", "edited", "rechained"]


def edited(entry: RecordEntry) -> RecordEntry:
    """``entry`` with another note and its old digest (what an UPDATE of the row leaves)."""
    return attrs.evolve(entry, note=f"{entry.note} (edited afterwards)")


def rechained(record: list[RecordEntry], at: int) -> list[RecordEntry]:
    """``record`` with entry ``at`` edited and every digest from it on recomputed, so the
    chain itself is intact (only comparing with what was stored finds the forgery)."""
    forged = list(record[:at])
    for entry in record[at:]:
        entry = edited(entry) if len(forged) == at else entry
        previous = forged[-1].digest if forged else ""
        forged.append(attrs.evolve(entry, digest=entry.expected_digest(previous)))
    return forged


def appended(record: list[RecordEntry]) -> list[RecordEntry]:
    """``record`` and one more entry, correctly chained to it (a forged INSERT)."""
    last = record[-1]
    sequence = last.sequence + 1
    digest = entry_digest(last.digest, sequence, last.at, last.actor_id, last.workflow,
                          last.subject_id, "forged", last.to_state, last.to_state, "inserted")
    return [*record, RecordEntry(sequence, last.at, last.actor_id, last.workflow,
                                 last.subject_id, "forged", last.to_state, last.to_state,
                                 "inserted", digest)]


_REWRITES: dict[str, Callable[[list[RecordEntry]], list[RecordEntry]]] = {
    "edited": lambda r: [edited(r[0]), *r[1:]],
    "edited and re-chained": lambda r: rechained(r, 0),
    "removed": lambda r: r[1:],
    "inserted before": lambda r: [edited(r[0]), *r],
    "emptied": lambda r: [],
}


class RecordTests(KindTests):
    """R9: every step leaves a record; nothing is deleted or rewritten."""

    @HEAVY
    @given(data=st.data())
    def test_r9_changes_committed_one_by_one_read_back_and_the_record_only_grows(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock,
        data: st.DataObject,
    ) -> None:
        """Each change in a unit of work of its own: after every commit the aggregate reads
        back as changed, one version later, and the record stored before is an unchanged
        prefix of the new one."""
        item = data.draw(spec.examples(), label="item")
        store(uow_factory, spec, [item])
        previous = snapshot(item)["record"]
        version = 1
        for _ in range(4):
            with uow_factory() as uow:
                loaded = repo(uow, spec).get(item.id)
                if not spec.change(loaded, now()):
                    break
                assert loaded.pending_events, f"{spec!r}: change() emitted no event"
                expected = snapshot(loaded)
                uow.commit()
            stored = load(uow_factory, spec, item.id)
            assert (snapshot(stored), stored.version) == (expected, version + 1)
            record = expected["record"]
            assert record[: len(previous)] == previous
            previous, version = record, version + 1

    def test_r9_a_stored_entry_rewritten_in_a_working_copy_is_refused_at_commit(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """Editing a stored entry (even with a re-chained, self-consistent record),
        removing one, inserting one before them or emptying the record, then changing the
        aggregate: the commit raises StorageError and the stored record stays."""
        item = with_record(spec.make(1)[0])
        store(uow_factory, spec, [item])
        before = snapshot(load(uow_factory, spec, item.id))
        for how, rewrite in _REWRITES.items():
            with uow_factory() as uow:
                loaded = repo(uow, spec).get(item.id)
                loaded.record = rewrite(list(loaded.record))
                change(spec, loaded, now())
                with pytest.raises(StorageError):
                    uow.commit()
            assert snapshot(load(uow_factory, spec, item.id)) == before, how

    def test_r9_new_entries_that_do_not_chain_on_are_refused_at_commit(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """A new entry whose digest does not chain to the stored record makes the commit
        raise StorageError; nothing is written."""
        item = with_record(spec.make(1)[0])
        store(uow_factory, spec, [item])
        before = snapshot(load(uow_factory, spec, item.id))
        with uow_factory() as uow:
            loaded = repo(uow, spec).get(item.id)
            stored = len(loaded.record)
            change(spec, loaded, now())
            last = loaded.record[-1]
            if len(loaded.record) > stored:
                loaded.record[-1] = edited(last)
            else:
                loaded.record.append(attrs.evolve(appended(loaded.record)[-1], digest="0" * 64))
            with pytest.raises(StorageError):
                uow.commit()
        assert snapshot(load(uow_factory, spec, item.id)) == before

    def test_r9_a_new_aggregate_whose_record_does_not_chain_is_refused(
        self, uow_factory: UowFactory, spec: KindExamples[Any]
    ) -> None:
        """Adding an aggregate whose record was edited after its digests were computed
        raises StorageError (at add or commit) and stores nothing."""
        item = with_record(spec.make(1)[0])
        item.record[0] = edited(item.record[0])
        prepare(uow_factory, spec, [item])
        with uow_factory() as uow, pytest.raises(StorageError):
            repo(uow, spec).add(item)
            uow.commit()
        absent(uow_factory, spec, item)

    def test_r9_a_record_altered_in_the_store_is_found_on_every_load(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """An entry edited, the newest deleted, or a well-chained entry appended behind the
        store's back (the ``tamper`` hook): ``get``, ``get_by`` and ``find`` raise
        StorageError naming the aggregate; restored, it loads again."""
        item = with_record(spec.make(1)[0])
        store(uow_factory, spec, [item])
        with uow_factory() as uow:
            change(spec, repo(uow, spec).get(item.id), now())
            uow.commit()
        original = list(load(uow_factory, spec, item.id).record)
        damaged = {
            "edited": [edited(original[0]), *original[1:]],
            "deleted": original[:-1],
            "appended": appended(original),
        }
        for how, record in damaged.items():
            self.tamper(spec.kind, item.id, record)
            with uow_factory() as uow:
                for read in reads_of(spec, item).values():
                    with pytest.raises(StorageError) as error:
                        read(repo(uow, spec))
                    assert str(item.id) in str(error.value), how
            self.tamper(spec.kind, item.id, original)
            assert load(uow_factory, spec, item.id).record == original


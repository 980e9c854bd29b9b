"""Repository tests of the contract suite: round trips, look-ups, queries, uniqueness."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from itertools import pairwise
from typing import Any
from uuid import uuid4

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.domain.kernel import Aggregate
from aftersales.errors import ConcurrencyConflict, NotFound, ValidationError
from aftersales.testing.contracts._support import (
    CHANGES_FROM,
    HEAVY,
    SETTINGS,
    Clock,
    UowFactory,
    find_order,
    in_find_order,
    snapshot,
    stored_value,
    wanted,
)
from aftersales.testing.contracts.base import (
    KindTests,
    absent,
    absent_value,
    change,
    load,
    prepare,
    repo,
    store,
    values_of,
    wrong_type,
)
from aftersales.testing.contracts.kind import KindExamples

__all__ = ["RepositoryTests"]

_CONTAINERS: list[Callable[[list[Any]], Any]] = [list, tuple, set, frozenset]


class RepositoryTests(KindTests):
    """``add``, ``get``, ``get_by`` and ``find`` of every kind under test."""

    @SETTINGS
    @given(data=st.data())
    def test_every_field_round_trips(
        self, uow_factory: UowFactory, spec: KindExamples[Any], data: st.DataObject
    ) -> None:
        """An aggregate read back in a later unit of work equals the one stored (datetimes as
        instants), at version 1, without pending events, also by each unique value."""
        item = data.draw(spec.examples(), label="item")
        expected = snapshot(item)
        store(uow_factory, spec, [item])
        with uow_factory() as uow:
            loaded = repo(uow, spec).get(item.id)
            assert snapshot(loaded) == expected
            assert (loaded.version, loaded.pending_events) == (1, [])
            for group, values in spec.keys(loaded):
                if len(group) == 1:
                    assert repo(uow, spec).get_by(group[0], values[0]).id == item.id

    def test_a_unit_of_work_hands_out_one_private_working_copy_per_aggregate(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """Within a unit of work every read of an aggregate returns the same object;
        another unit of work gets its own copy, untouched by uncommitted changes."""
        item = spec.make(1)[0]
        store(uow_factory, spec, [item])
        before = snapshot(load(uow_factory, spec, item.id))
        with uow_factory() as uow, uow_factory() as other:
            first = repo(uow, spec).get(item.id)
            assert repo(uow, spec).get(item.id) is first
            for group, values in spec.keys(first):
                if len(group) == 1:
                    assert repo(uow, spec).get_by(group[0], values[0]) is first
            name = spec.kind.fields[0].name if spec.kind.fields else None
            if name is not None:
                value = stored_value(spec.kind, name, first)
                assert any(found is first for found in repo(uow, spec).find(**{name: value}))
            change(spec, first, now())
            theirs = repo(other, spec).get(item.id)
            assert theirs is not first
            assert snapshot(theirs) == before

    def test_unknown_ids_and_values_are_not_found(
        self, uow_factory: UowFactory, spec: KindExamples[Any]
    ) -> None:
        """``get`` raises NotFound for an id never stored and for anything not a UUID (its
        text included); ``get_by`` for a value never stored, of the wrong type, or None."""
        item = spec.make(1)[0]
        store(uow_factory, spec, [item])
        with uow_factory() as uow:
            repository = repo(uow, spec)
            for unknown in (uuid4(), str(item.id), item.id.hex, item.id.int, None, b"\x00"):
                with pytest.raises(NotFound):
                    repository.get(unknown)  # type: ignore[arg-type]
            for field in spec.kind.unique_fields:
                for unknown in (absent_value(field), wrong_type(field), None):
                    with pytest.raises(NotFound):
                        repository.get_by(field.name, unknown)

    def test_misused_look_ups_are_refused_with_validation_errors(
        self, uow_factory: UowFactory, spec: KindExamples[Any]
    ) -> None:
        """``get_by`` on a field that is not a unique query field, ``find`` on a field that is
        not a query field, and a ``limit`` that is not a whole number >= 0 raise
        ValidationError."""
        kind = spec.kind
        with uow_factory() as uow:
            repository = repo(uow, spec)
            for name in ["no_such_field", *(f.name for f in kind.fields if not f.unique)]:
                with pytest.raises(ValidationError):
                    repository.get_by(name, "x")
            with pytest.raises(ValidationError):
                repository.find(no_such_field=1)
            for limit in (-1, True, "3", 1.5):
                with pytest.raises(ValidationError):
                    repository.find(limit=limit)  # type: ignore[arg-type]

    # --- queries ----------------------------------------------------------------------------

    @HEAVY
    @given(data=st.data())
    def test_find_matches_every_query_field_in_order_within_the_limit(
        self, uow_factory: UowFactory, spec: KindExamples[Any], data: st.DataObject
    ) -> None:
        """``find`` by each query field (one value, a collection of values of any kind, None,
        an empty collection), by two fields at once and by nothing returns exactly the
        matching aggregates, ordered by the kind's ``order_by`` fields (instants as instants)
        then by id; ``limit`` cuts that list (0, 1, some, more than there are)."""
        kind = spec.kind
        batch = data.draw(spec.batches(), label="batch")
        expected = {item.id: snapshot(item) for item in batch}
        prepare(uow_factory, spec, batch)
        for item in data.draw(st.permutations(batch), label="insertion order"):
            store(uow_factory, spec, [item], refer=False)
        with uow_factory() as uow:
            repository = repo(uow, spec)

            def check(criteria: dict[str, Any], limit: int | None = None) -> list[Aggregate]:
                found = repository.find(limit=limit, **criteria)
                assert all(wanted(kind, i, criteria) for i in found), criteria
                keys = [find_order(kind, i) for i in found]
                assert all(a < b for a, b in pairwise(keys)), f"not in find order: {criteria}"
                ours = [i for i in found if i.id in expected]
                assert all(snapshot(i) == expected[i.id] for i in ours)
                if limit is None:
                    matching = [i.id for i in in_find_order(kind, batch)
                                if wanted(kind, i, criteria)]
                    assert [i.id for i in ours] == matching, criteria
                return found

            tried: list[dict[str, Any]] = [{}]
            for field in kind.fields:
                values = values_of(spec, field.name, batch)
                one = data.draw(st.sampled_from(values), label=f"{field.name} value")
                tried.append({field.name: one})
                some = data.draw(st.lists(st.sampled_from(values), max_size=3),
                                 label=f"{field.name} values")
                extra = data.draw(st.sampled_from([[], [None], [absent_value(field)]]))
                container = data.draw(st.sampled_from(_CONTAINERS))
                tried.append({field.name: container([*some, *extra])})
                tried.append({field.name: None})
                assert repository.find(**{field.name: container([])}) == []
                raw = getattr(batch[0], field.name, None) if field.get is None else None
                if isinstance(raw, Enum):  # an enumeration: by its member as by its value
                    by_member: dict[str, Any] = {field.name: raw}
                    assert [i.id for i in repository.find(**by_member)] == [
                        i.id for i in check({field.name: values[0]})
                    ]
            if len(kind.fields) >= 2:
                first, second = data.draw(
                    st.lists(st.sampled_from(kind.fields), min_size=2, max_size=2,
                             unique_by=lambda f: f.name), label="two fields")
                item = data.draw(st.sampled_from(batch), label="their values from")
                tried.append({f.name: stored_value(kind, f.name, item) for f in (first, second)})
            for criteria in tried:
                check(criteria)
            criteria = data.draw(st.sampled_from(tried), label="criteria for limits")
            full = [i.id for i in check(criteria)]
        for limit in (*range(min(len(full), 4) + 2), len(full) + 3):
            with uow_factory() as uow:  # a fresh one: nothing read yet to sort in memory
                found = repo(uow, spec).find(limit=limit, **criteria)
                assert [i.id for i in found] == full[:limit], limit

    def test_find_breaks_ties_by_id_and_the_limit_cuts_in_that_order(
        self, uow_factory: UowFactory, spec: KindExamples[Any]
    ) -> None:
        """Aggregates equal in every ``order_by`` field come by id; ``limit`` keeps the
        first of them in that order (the store's order and the unit of work's agree)."""
        kind = spec.kind
        if not kind.order_by or any(set(g) <= set(kind.order_by) for g in spec.unique_groups()):
            pytest.skip(f"{kind.entity}: no order_by, or it holds a unique value")
        items = spec.make(6)
        for name in kind.order_by:
            if kind.field(name).get is not None:
                pytest.skip(f"{kind.entity} orders by a computed field ({name})")
            try:
                for item in items[1:]:
                    setattr(item, name, getattr(items[0], name))
            except AttributeError:
                pytest.skip(f"{kind.entity}.{name} cannot be set")
        store(uow_factory, spec, items)
        criteria = {n: stored_value(kind, n, items[0]) for n in kind.order_by}
        expected = sorted(i.id for i in items)
        with uow_factory() as uow:
            found = [i.id for i in repo(uow, spec).find(**criteria) if i.id in set(expected)]
        assert found == expected
        for limit in range(len(items) + 2):
            with uow_factory() as uow:  # a fresh one: nothing read yet to sort in memory
                assert [i.id for i in repo(uow, spec).find(limit=limit, **criteria)] == (
                    expected[:limit]
                ), limit

    def test_find_puts_absent_values_first_and_the_limit_cuts_in_that_order(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """An ``order_by`` field that may be absent (None) sorts None first, in the store as
        in the unit of work, so ``limit`` keeps the same aggregates either way."""
        kind = spec.kind
        nullable = [n for n in kind.order_by
                    if kind.field(n).get is None and _optional(kind.cls, n)]
        if not nullable:
            pytest.skip(f"{kind.entity} orders by no field that may be None")
        name = nullable[0]
        items = spec.make(6)
        for item in items[1::2]:
            for _ in range(3):
                if getattr(item, name) is not None or not spec.change(item, now()):
                    break
        values = [getattr(i, name) for i in items]
        if all(v is None for v in values) or None not in values:
            pytest.skip(f"{spec!r}: make() and change() give no mix of None and values")
        store(uow_factory, spec, items)
        ours = {i.id for i in items}
        unique = [f.name for f in kind.unique_fields]
        criteria: dict[str, Any] = (
            {unique[0]: values_of(spec, unique[0], items)} if unique else {}
        )
        expected = [i.id for i in in_find_order(kind, items)]
        with uow_factory() as uow:
            full = [i.id for i in repo(uow, spec).find(**criteria)]
        assert [i for i in full if i in ours] == expected
        for limit in range(len(full) + 2 if unique else len(items) + 2):
            with uow_factory() as uow:  # a fresh one: nothing read yet to sort in memory
                found = repo(uow, spec).find(limit=limit, **criteria)
                assert [i.id for i in found] == full[:limit], limit

    def test_find_judges_the_unit_of_works_own_changes_on_its_working_copies(
        self, uow_factory: UowFactory, spec: KindExamples[Any], now: Clock
    ) -> None:
        """In a unit of work, ``find`` sees an aggregate added there (not committed) and
        judges a changed one by its new values, not by the stored ones."""
        kind = spec.kind
        stored, new = spec.make(2)
        store(uow_factory, spec, [stored])
        prepare(uow_factory, spec, [new])
        with uow_factory() as uow:
            repository = repo(uow, spec)
            loaded = repository.get(stored.id)
            before = {f.name: stored_value(kind, f.name, loaded) for f in kind.fields}
            change(spec, loaded, now())
            repository.add(new)
            for field in kind.fields:
                value = stored_value(kind, field.name, loaded)
                assert loaded in repository.find(**{field.name: value})
                assert new in repository.find(**{field.name: stored_value(kind, field.name,
                                                                          new)})
                if value != before[field.name]:
                    assert loaded not in repository.find(**{field.name: before[field.name]})

    # --- ids and unique values ------------------------------------------------------------

    def test_a_second_aggregate_with_a_stored_id_is_refused_at_add(
        self, uow_factory: UowFactory, spec: KindExamples[Any]
    ) -> None:
        """Adding an aggregate whose id is stored, or was added in the same unit of work,
        raises ValidationError; the stored one stays as it was."""
        first, second, third = spec.make(3)
        store(uow_factory, spec, [first])
        before = snapshot(load(uow_factory, spec, first.id))
        prepare(uow_factory, spec, [second, third])
        second.id = first.id
        with uow_factory() as uow, pytest.raises(ValidationError):
            repo(uow, spec).add(second)
        with uow_factory() as uow:
            repo(uow, spec).add(third)
            with pytest.raises(ValidationError):
                repo(uow, spec).add(third.clone())
        assert snapshot(load(uow_factory, spec, first.id)) == before
        absent(uow_factory, spec, third)

    def test_two_units_of_work_adding_one_id_conflict_and_the_first_stays(
        self, uow_factory: UowFactory, spec: KindExamples[Any]
    ) -> None:
        """Two units of work add an aggregate with the same new id: the first commit wins,
        the second raises ConcurrencyConflict and changes nothing."""
        first = spec.make(1)[0]
        expected = snapshot(first)
        impostor = first.clone()
        impostor.record_step(
            at=first.record[-1].at if first.record else CHANGES_FROM, actor_id=uuid4(),
            workflow="contract", subject_id=impostor.id, action="impostor", from_state=None,
            to_state="impostor", note="the second writer",
        )
        prepare(uow_factory, spec, [first])
        with uow_factory() as a, uow_factory() as b:
            repo(a, spec).add(first)
            repo(b, spec).add(impostor)
            a.commit()
            with pytest.raises(ConcurrencyConflict):
                b.commit()
            assert b.collect_new_events() == []
        assert snapshot(load(uow_factory, spec, first.id)) == expected

    def test_a_unique_value_is_held_by_one_aggregate_only(
        self, uow_factory: UowFactory, spec: KindExamples[Any]
    ) -> None:
        """For each unique field (and unique group): an aggregate holding a stored value, or
        one added in the same unit of work, is refused at add with ValidationError; two
        units of work racing for one value: the second commit raises ConcurrencyConflict."""
        groups = spec.unique_groups()
        if not groups:
            pytest.skip(f"{spec.kind.entity} has no unique fields")
        tried = 0
        for group in groups:
            holder, taker, racer, other = spec.make(4)
            if not (spec.collide(taker, holder, group) and spec.collide(other, racer, group)):
                continue
            tried += 1
            store(uow_factory, spec, [holder])
            prepare(uow_factory, spec, [taker, racer, other])
            with uow_factory() as uow, pytest.raises(ValidationError):
                repo(uow, spec).add(taker)
            with uow_factory() as uow:
                repo(uow, spec).add(racer)
                with pytest.raises(ValidationError):
                    repo(uow, spec).add(other)
            absent(uow_factory, spec, racer)
            with uow_factory() as a, uow_factory() as b:
                repo(a, spec).add(racer)
                repo(b, spec).add(other)
                a.commit()
                with pytest.raises(ConcurrencyConflict):
                    b.commit()
            with pytest.raises(NotFound):
                load(uow_factory, spec, other.id)
            with pytest.raises(NotFound):
                load(uow_factory, spec, taker.id)
            assert load(uow_factory, spec, racer.id).id == racer.id
        if not tried:
            pytest.skip(f"{spec!r}: collide() cannot share {groups}")


def _optional(cls: type[Any], name: str) -> bool:
    """True if attribute ``name`` of attrs class ``cls`` is declared to hold None."""
    found = attrs.fields_dict(cls).get(name)
    return found is not None and "None" in str(found.type)

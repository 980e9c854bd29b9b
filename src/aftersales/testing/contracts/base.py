"""The base of the kind-parametrised contract classes and the helpers their tests share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest

from aftersales.domain.kernel import Aggregate, AggregateEvent, AggregateKind, QueryField
from aftersales.errors import NotFound
from aftersales.ports import IdempotencyRecord, Repository, UnitOfWork
from aftersales.testing.contracts._support import CHANGES_FROM, Clock, UowFactory, stored_value
from aftersales.testing.contracts.hooks import AdapterHooks
from aftersales.testing.contracts.kind import KindExamples

__all__ = ["KindTests"]


class KindTests(AdapterHooks):
    """Runs every test that takes ``spec`` once per entry of :attr:`kind_examples`."""

    #: The kinds the tests run on (one :class:`KindExamples` each).
    kind_examples: ClassVar[Sequence[KindExamples[Any]]] = ()

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrise ``spec`` with :attr:`kind_examples` (test ids: the kinds' tables)."""
        if "spec" not in metafunc.fixturenames:
            return
        specs = list(self.kind_examples)
        if not specs:
            raise TypeError(f"{type(self).__name__}: set kind_examples to the KindExamples "
                            "of the kinds to test")
        metafunc.parametrize("spec", specs, ids=[s.kind.table for s in specs])

    @pytest.fixture
    def now(self) -> Clock:
        """Instants for the changes of one test, each later than the one before."""
        return Clock()


# --- helpers ---------------------------------------------------------------------------------


def repo(uow: UnitOfWork, spec: KindExamples[Any]) -> Repository[Any]:
    """The repository of the kind under test."""
    return uow.repository(spec.kind)


def prepare(factory: UowFactory, spec: KindExamples[Any], items: Sequence[Aggregate]) -> None:
    """Store what ``items`` refer to, in a unit of work of its own."""
    with factory() as uow:
        spec.refer(uow, items)
        uow.commit()


def store(
    factory: UowFactory, spec: KindExamples[Any], items: Sequence[Aggregate], *,
    refer: bool = True,
) -> list[AggregateEvent]:
    """Store ``items`` in one unit of work (after what they refer to, unless ``refer`` is
    False); the events of that unit of work."""
    if refer:
        prepare(factory, spec, items)
    with factory() as uow:
        for item in items:
            repo(uow, spec).add(item)
        uow.commit()
        return uow.collect_new_events()


def load(factory: UowFactory, spec: KindExamples[Any], item_id: UUID) -> Any:
    """The committed aggregate, read in a unit of work of its own."""
    with factory() as uow:
        return repo(uow, spec).get(item_id)


def change(spec: KindExamples[Any], item: Aggregate, at: datetime) -> list[AggregateEvent]:
    """Apply the kind's change hook, which must succeed and emit; the new events."""
    before = len(item.pending_events)
    assert spec.change(item, at), f"{spec!r}: change() refused a changeable aggregate"
    new = item.pending_events[before:]
    assert new, f"{spec!r}: change() emitted no event"
    return list(new)


def with_record(item: Aggregate) -> Aggregate:
    """``item`` with at least one R9 record entry (a kind without workflows has none: the
    kernel's record_step gives it one)."""
    if not item.record:
        item.record_step(
            at=CHANGES_FROM - timedelta(days=1), actor_id=uuid4(), workflow="contract",
            subject_id=item.id, action="open", from_state=None, to_state="open",
            note="R9 contract entry",
        )
    return item


def absent(factory: UowFactory, spec: KindExamples[Any], item: Aggregate) -> None:
    """Assert ``item`` is stored neither by id nor by any of its unique values."""
    with factory() as uow:
        repository = repo(uow, spec)
        with pytest.raises(NotFound):
            repository.get(item.id)
        for group, values in spec.keys(item):
            if len(group) == 1:
                with pytest.raises(NotFound):
                    repository.get_by(group[0], values[0])
            else:
                found = repository.find(**dict(zip(group, values, strict=True)))
                assert [i.id for i in found] == [], f"{group} {values} is stored"


def key(aggregate_id: UUID, kind: AggregateKind[Any]) -> IdempotencyRecord:
    """A fresh idempotency record naming ``aggregate_id``."""
    return IdempotencyRecord(
        scope=uuid4().hex + uuid4().hex, fingerprint=uuid4().hex * 2, command="contract_test",
        kind=kind.table, aggregate_id=aggregate_id, created_at=CHANGES_FROM,
    )


def absent_value(field: QueryField) -> Any:
    """A value of ``field``'s type that no generated aggregate holds (None for bool)."""
    fresh = uuid4()
    if field.type is UUID:
        return fresh
    if field.type is str:
        return f"absent-{fresh.hex}"[: field.max_length]
    if field.type is int:
        return -(fresh.int % 10**15) - 7_777
    if field.type is datetime:
        return CHANGES_FROM + timedelta(days=3650, microseconds=fresh.int % 10**6)
    if field.type is date:
        return date(2099, 12, 31) - timedelta(days=fresh.int % 1000)
    if field.type is Decimal:
        return Decimal(-(fresh.int % 10**9)) / 100 - Decimal("0.01")
    return None


def wrong_type(field: QueryField) -> Any:
    """A value of another type than ``field``'s (never a key)."""
    return 12345 if field.type is not int else "12345"


def values_of(spec: KindExamples[Any], name: str, items: Sequence[Aggregate]) -> list[Any]:
    """The stored values of query field ``name`` of ``items``."""
    return [stored_value(spec.kind, name, i) for i in items]


def reads_of(spec: KindExamples[Any], item: Aggregate) -> dict[str, Callable[[Any], Any]]:
    """Every way to read ``item`` from a repository: by id, by each unique value, and by
    ``find`` on its first query field (picking it out of the results)."""
    reads: dict[str, Callable[[Any], Any]] = {"get": partial(_get, item.id)}
    for group, values in spec.keys(item):
        if len(group) == 1:
            reads[f"get_by {group[0]}"] = partial(_get_by, group[0], values[0])
    if spec.kind.fields:
        name = spec.kind.fields[0].name
        reads["find"] = partial(_find, {name: stored_value(spec.kind, name, item)}, item.id)
    return reads


def _get(item_id: UUID, repository: Repository[Any]) -> Any:
    return repository.get(item_id)


def _get_by(field: str, value: Any, repository: Repository[Any]) -> Any:
    return repository.get_by(field, value)


def _find(criteria: dict[str, Any], item_id: UUID, repository: Repository[Any]) -> Any:
    return next(i for i in repository.find(**criteria) if i.id == item_id)

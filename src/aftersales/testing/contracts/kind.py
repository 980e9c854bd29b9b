"""The description of one aggregate kind that the contract suite is parametrised by."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from hypothesis import strategies as st

from aftersales.domain.kernel import Aggregate, AggregateKind
from aftersales.errors import NotFound
from aftersales.ports import UnitOfWork
from aftersales.testing.contracts._support import stored_value

__all__ = ["KindExamples", "ensure"]

A = TypeVar("A", bound=Aggregate)


class KindExamples(Generic[A]):
    """How the contract suite makes and changes aggregates of one kind.

    Subclass it for your own kind: set :attr:`kind`, implement :meth:`make` and
    :meth:`change`; override :meth:`examples` for aggregates in every shape your kind can
    take, :meth:`batches` for query data with shared values, :meth:`refer` if your store
    enforces references, :meth:`collide` if a unique query field is computed. Build the
    aggregates the way your commands do (through workflow steps or domain methods), so that
    what the suite stores is what your application stores.
    """

    #: The declaration of the kind.
    kind: ClassVar[AggregateKind[Any]]

    def make(self, n: int) -> list[A]:
        """``n`` new aggregates as a command creates them: fresh ids, fresh unique values,
        their opening events pending (sequence 1 ...), each able to take at least three
        :meth:`change` calls in a row."""
        raise NotImplementedError

    def change(self, item: A, at: datetime) -> bool:
        """Apply one change made at ``at`` (later than every earlier step) that emits at
        least one event; False when ``item`` can change no more (a final state)."""
        raise NotImplementedError

    def examples(self) -> st.SearchStrategy[A]:
        """New aggregates in every shape the kind can take (default: :meth:`make`'s)."""
        return st.builds(lambda: self.make(1)[0])

    def batches(self) -> st.SearchStrategy[list[A]]:
        """A few aggregates stored together for the query tests; the more query values they
        share, the more the tests check (default: one to four :meth:`examples`)."""
        return st.lists(self.examples(), min_size=1, max_size=4).map(self.distinct)

    def refer(self, uow: UnitOfWork, items: Sequence[A]) -> None:
        """Add, in ``uow``, what ``items`` refer to and is not stored yet (their customer,
        equipment, actors ...), so a store may enforce references (default: nothing)."""

    def collide(self, item: A, like: A, group: tuple[str, ...]) -> bool:
        """Give ``item`` the values ``like`` has in the unique fields ``group`` (and change
        nothing else that is unique); False when that cannot be done. The default sets the
        attributes of fields read straight from an attribute."""
        fields = [self.kind.field(name) for name in group]
        if any(f.get is not None for f in fields):
            return False
        for f in fields:
            setattr(item, f.name, getattr(like, f.name))
        return True

    # --- helpers ----------------------------------------------------------------------------

    def unique_groups(self) -> list[tuple[str, ...]]:
        """Every unique field and every ``unique_together`` group of the kind."""
        kind = self.kind
        return [(f.name,) for f in kind.unique_fields] + list(kind.unique_together)

    def keys(self, item: A) -> set[tuple[tuple[str, ...], tuple[Any, ...]]]:
        """The unique values ``item`` holds (None is never a key)."""
        found = set()
        for group in self.unique_groups():
            values = tuple(stored_value(self.kind, n, item) for n in group)
            if not any(v is None for v in values):
                found.add((group, values))
        return found

    def distinct(self, items: list[A]) -> list[A]:
        """``items`` without those whose id or unique values an earlier one holds."""
        kept: list[A] = []
        taken: set[Any] = set()
        for item in items:
            keys: set[Any] = {*self.keys(item), ("id", item.id)}
            if keys & taken:
                continue
            taken |= keys
            kept.append(item)
        return kept

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kind.table})"


def ensure(uow: UnitOfWork, kind: AggregateKind[Any], item_id: UUID | None,
           build: Any) -> None:
    """Add ``build(item_id)`` to ``kind``'s repository unless ``item_id`` is stored (or
    None)."""
    if item_id is None:
        return
    repo = uow.repository(kind)
    try:
        repo.get(item_id)
    except NotFound:
        repo.add(build(item_id))

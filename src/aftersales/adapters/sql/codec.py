"""Documents of the SQL adapter: aggregates and events to JSON text and back (cattrs).

The store's private converters (never cattrs' global one): an aggregate's document holds every
field but its ``version`` (a column), its record (rows of its record table) and its pending
events. Reading a document that is not JSON, too deeply nested, of the wrong shape or with
unknown keys raises :class:`~aftersales.errors.StorageError` naming the row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from aftersales.domain.kernel import Aggregate, AggregateEvent, AggregateKind, Kinds, RecordEntry
from aftersales.errors import StorageError
from aftersales.serialization import event_to_dict, make_converter

__all__ = ["Codec"]

_OMITTED = ("version", "record", "pending_events")


def _dumps(value: Any) -> str:
    # UTF-8 as is (not \\uXXXX escapes): Chinese text stays half the size
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Codec:
    """Encodes and decodes the documents of a set of kinds."""

    def __init__(self, kinds: Kinds) -> None:
        self.converter = make_converter()
        self._dump: dict[str, Callable[[Any], dict[str, Any]]] = {}
        self._load: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        for kind in kinds:
            self._register(kind)

    def _register(self, kind: AggregateKind[Any]) -> None:
        conv = self.converter
        omit = {name: override(omit=True) for name in _OMITTED}
        self._dump[kind.table] = make_dict_unstructure_fn(
            kind.cls, conv, **omit  # type: ignore[arg-type]
        )
        self._load[kind.table] = make_dict_structure_fn(
            kind.cls, conv, pending_events=override(omit=True), _cattrs_forbid_extra_keys=True
        )

    def dump(self, kind: AggregateKind[Any], item: Aggregate) -> str:
        """The document of ``item`` as JSON text."""
        return _dumps(self._dump[kind.table](item))

    def dump_event(self, event: AggregateEvent) -> str:
        """An event's outbox payload as JSON text."""
        return _dumps(event_to_dict(event, self.converter))

    def load(
        self, kind: AggregateKind[Any], text: Any, where: str, *, version: int,
        record: list[RecordEntry],
    ) -> Any:
        """The aggregate from its stored document, version and record."""
        try:
            data = json.loads(text) if isinstance(text, str | bytes) else text
        except (ValueError, RecursionError) as error:
            raise StorageError(f"{where}: the stored document is not JSON "
                               f"({type(error).__name__})") from None
        if not isinstance(data, dict):
            raise StorageError(f"{where}: the stored document is not a JSON object "
                               f"({type(data).__name__})")
        if any(key in data for key in _OMITTED):
            raise StorageError(f"{where}: the stored document holds a version or a record")
        try:
            item = self._load[kind.table]({**data, "version": version, "record": []}, kind.cls)
        except cattrs.BaseValidationError as error:
            problems = "; ".join(cattrs.transform_error(error))
            raise StorageError(f"{where}: malformed stored document: {problems}") from None
        except RecursionError:
            raise StorageError(f"{where}: the stored document is nested too deeply") from None
        except Exception as error:
            raise StorageError(f"{where}: malformed stored document: "
                               f"{type(error).__name__}: {error}") from None
        item.record = record
        return item

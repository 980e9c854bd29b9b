"""Snapshots of a store's committed state, and putting an in-memory store back."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aftersales.adapters.memory import InMemoryStore
    from aftersales.adapters.sql import SqlStore


def memory_snapshot(store: InMemoryStore) -> dict[str, Any]:
    """Everything an :class:`~aftersales.adapters.memory.InMemoryStore` has committed: each
    aggregate (pickled whole, so a change anywhere inside shows), its R9 record, the unique
    keys, the idempotency records, the events and the outbox marks."""
    found: dict[str, Any] = {}
    with store.lock:
        for name, table in store.tables.items():
            for item_id, item in table.items.items():
                found[f"{name}/{item_id}"] = pickle.dumps(item)
                found[f"{name}/{item_id}/record"] = table.records.get(item_id)
            found[f"{name}/unique"] = {g: dict(v) for g, v in table.unique.items()}
        found["idempotency"] = dict(store.idempotency_keys)
        found["events"] = list(store.events)
        found["published"] = set(store.published)
        found["failed"] = dict(store.failed)
    return found


def memory_fingerprint(store: InMemoryStore) -> tuple[Any, ...]:
    """A cheap check of an in-memory store: how many aggregates of each kind, keys and events
    it holds, and which event is the newest. Every write through a commit changes it (a commit
    adds an aggregate, or events of the changed ones, or a key); it cannot see a change made
    behind the commit path, inside a committed object (:func:`memory_snapshot` does)."""
    with store.lock:
        events = store.events
        return (tuple(len(t.items) for t in store.tables.values()), len(events),
                id(events[-1]) if events else None, len(store.idempotency_keys),
                len(store.published), len(store.failed))


def memory_checkpoint(store: InMemoryStore) -> Any:
    """A checkpoint of an in-memory store for :func:`memory_restore` (cheap: a commit replaces
    the objects it writes, so shallow copies of the tables keep the committed ones)."""
    with store.lock:
        tables = {
            name: (dict(t.items), dict(t.records), {g: dict(v) for g, v in t.unique.items()},
                   dict(t.keys))
            for name, t in store.tables.items()
        }
        return (tables, dict(store.idempotency_keys), len(store.events), set(store.published),
                dict(store.failed))


def memory_restore(store: InMemoryStore, checkpoint: Any) -> None:
    """Put an in-memory store back as it was at ``checkpoint`` (see
    :func:`memory_checkpoint`)."""
    tables, keys, events, published, failed = checkpoint
    with store.lock:
        for name, (items, records, unique, held) in tables.items():
            table = store.tables[name]
            table.items.clear()
            table.items.update(items)
            table.records.clear()
            table.records.update(records)
            for group, values in unique.items():
                table.unique[group].clear()
                table.unique[group].update(values)
            table.keys.clear()
            table.keys.update(held)
        store.idempotency_keys.clear()
        store.idempotency_keys.update(keys)
        del store.events[events:]
        store.published.clear()
        store.published.update(published)
        store.failed.clear()
        store.failed.update(failed)


def sql_snapshot(store: SqlStore) -> dict[str, Any]:
    """Every row of every table of a :class:`~aftersales.adapters.sql.SqlStore`'s schema (the
    aggregates, their records, the outbox and the idempotency keys), in a stable order."""
    import sqlalchemy as sa

    found: dict[str, Any] = {}
    with store.engine.connect() as conn:
        for table in store.schema.metadata.sorted_tables:
            rows = [tuple(row) for row in conn.execute(sa.select(table))]
            found[table.name] = sorted(rows, key=repr)
    return found


def changed_keys(before: Any, after: Any) -> list[str]:
    """What differs between two snapshots (the keys of two mappings, or ``["state"]``)."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        keys = sorted(set(before) | set(after), key=str)
        return [str(k) for k in keys if before.get(k) != after.get(k)]
    return [] if before == after else ["state"]

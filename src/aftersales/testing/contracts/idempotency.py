"""Idempotency-record tests of the contract suite: written with the unit of work, and only
then; a scope is recorded once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.errors import ConcurrencyConflict
from aftersales.ports import IdempotencyRecord
from aftersales.testing.contracts._support import SETTINGS, UowFactory, ids, instants
from aftersales.testing.contracts.hooks import AdapterHooks

__all__ = ["IdempotencyContract"]

#: Fresh on every draw (examples share a store): never a scope recorded before.
_hex64 = st.builds(lambda: uuid4().hex + uuid4().hex)
records = st.builds(
    IdempotencyRecord,
    scope=_hex64,
    fingerprint=_hex64,
    command=st.from_regex(r"[a-z][a-z_]{0,99}", fullmatch=True),
    kind=st.from_regex(r"[a-z][a-z_]{0,63}", fullmatch=True),
    aggregate_id=ids,
    created_at=instants(),
)


def _fresh(command: str = "register_request") -> IdempotencyRecord:
    return IdempotencyRecord(
        scope=uuid4().hex + uuid4().hex, fingerprint=uuid4().hex * 2, command=command,
        kind="service_requests", aggregate_id=uuid4(),
        created_at=datetime(2024, 5, 1, 8, 30, 0, 123456, tzinfo=timezone(timedelta(hours=8))),
    )


class _Boom(Exception):
    """Raised inside a unit of work by the tests."""


class IdempotencyContract(AdapterHooks):
    """The :class:`~aftersales.ports.IdempotencyStore` of your units of work."""

    @SETTINGS
    @given(record=records)
    def test_an_idempotency_record_is_seen_by_others_once_committed(
        self, uow_factory: UowFactory, record: IdempotencyRecord
    ) -> None:
        """A record put is visible in its own unit of work at once, to others only after
        the commit, and reads back with every field (the time as the same instant)."""
        with uow_factory() as uow, uow_factory() as other:
            assert uow.idempotency.get(record.scope) is None
            uow.idempotency.put(record)
            assert uow.idempotency.get(record.scope) == record
            assert other.idempotency.get(record.scope) is None
            uow.commit()
        with uow_factory() as uow:
            stored = uow.idempotency.get(record.scope)
        assert stored is not None
        # the same instant (a zone's repeated hour never equals another zone's datetime)
        assert stored.created_at.astimezone(UTC) == record.created_at.astimezone(UTC)
        assert attrs.evolve(stored, created_at=record.created_at) == record

    def test_a_record_not_committed_is_forgotten(self, uow_factory: UowFactory) -> None:
        """A record put without commit, before an exception, or before ``rollback`` is not
        stored."""
        scopes = [_fresh() for _ in range(3)]
        with uow_factory() as uow:
            uow.idempotency.put(scopes[0])
        with pytest.raises(_Boom), uow_factory() as uow:
            uow.idempotency.put(scopes[1])
            raise _Boom
        with uow_factory() as uow:
            uow.idempotency.put(scopes[2])
            uow.rollback()
            uow.commit()
        with uow_factory() as uow:
            assert [uow.idempotency.get(r.scope) for r in scopes] == [None, None, None]

    def test_a_recorded_scope_is_never_overwritten(self, uow_factory: UowFactory) -> None:
        """Putting a scope that is recorded raises ConcurrencyConflict (at ``put`` or at
        commit); the first record stays."""
        first = _fresh()
        with uow_factory() as uow:
            uow.idempotency.put(first)
            uow.commit()
        second = IdempotencyRecord(first.scope, "0" * 64, "other_command", "other_kind",
                                   _fresh().aggregate_id, first.created_at)
        with uow_factory() as uow, pytest.raises(ConcurrencyConflict):
            uow.idempotency.put(second)
            uow.commit()
        with uow_factory() as uow:
            assert uow.idempotency.get(first.scope) == first

    def test_two_units_of_work_recording_one_new_scope_conflict(
        self, uow_factory: UowFactory
    ) -> None:
        """Both see a new scope and put it: the first commit wins, the second raises
        ConcurrencyConflict (so the runner retries and finds the first result)."""
        first = _fresh()
        second = IdempotencyRecord(first.scope, "1" * 64, first.command, first.kind,
                                   _fresh().aggregate_id, first.created_at)
        with uow_factory() as a, uow_factory() as b:
            assert a.idempotency.get(first.scope) is None
            assert b.idempotency.get(first.scope) is None
            a.idempotency.put(first)
            b.idempotency.put(second)
            a.commit()
            with pytest.raises(ConcurrencyConflict):
                b.commit()
        with uow_factory() as uow:
            assert uow.idempotency.get(first.scope) == first

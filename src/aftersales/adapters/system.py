"""Clocks and id generators: the real ones and deterministic ones for tests and demos."""

from __future__ import annotations

import itertools
import secrets
import threading
import uuid
from datetime import UTC, datetime, timedelta, tzinfo
from uuid import UUID

from aftersales.domain.values import shifted
from aftersales.errors import ValidationError

__all__ = ["ManualClock", "RandomIds", "SequentialIds", "SystemClock"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class SystemClock:
    """The wall clock, in ``tz`` (UTC by default)."""

    def __init__(self, tz: tzinfo = UTC) -> None:
        self.tz = tz

    def now(self) -> datetime:
        """Now, timezone-aware."""
        return datetime.now(self.tz)


class ManualClock:
    """A clock that only moves when told to: for tests, demos and simulations."""

    def __init__(self, start: datetime, step: timedelta = timedelta(0)) -> None:
        if start.tzinfo is None:
            raise ValidationError("ManualClock", "start", "datetime must be timezone-aware")
        self._now = start
        self.step = step

    def now(self) -> datetime:
        """The current manual time; then advance by ``step`` (zero by default)."""
        current = self._now
        if self.step:
            self._now = shifted(current, self.step)
        return current

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` of absolute time (across a DST change too) and
        return the new time, in the start's zone."""
        self._now = shifted(self._now, delta)
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment``."""
        if moment.tzinfo is None:
            raise ValidationError("ManualClock", "moment", "datetime must be timezone-aware")
        self._now = moment


class RandomIds:
    """UUID4 ids and numbers like ``SR-20261123-7K3QF9XM`` (R7).

    The random suffix (40 bits) needs no shared counter, so many writers and distributed SQL
    databases never contend on a hot sequence; storage enforces uniqueness (a clash is a
    conflict the service layer retries with a new number).
    """

    def new_id(self) -> UUID:
        """A random UUID."""
        return uuid.uuid4()

    def number(self, prefix: str, at: datetime) -> str:
        """A fresh number of a ``prefix`` kind created at ``at``."""
        bits = secrets.randbits(40)
        suffix = "".join(_CROCKFORD[(bits >> shift) & 31] for shift in range(35, -1, -5))
        return f"{prefix}-{at:%Y%m%d}-{suffix}"


class SequentialIds:
    """Deterministic ids (``UUID(int=n)``) and numbers like ``SR-20261123-0001``, counted per
    prefix (for tests, demos and replays)."""

    def __init__(self, start: int = 1) -> None:
        self._ids = itertools.count(start)
        self._numbers: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def new_id(self) -> UUID:
        """The next id."""
        with self._lock:
            return UUID(int=next(self._ids))

    def number(self, prefix: str, at: datetime) -> str:
        """The next number of the ``prefix`` kind."""
        with self._lock:
            counter = self._numbers.setdefault(prefix, itertools.count(1))
            return f"{prefix}-{at:%Y%m%d}-{next(counter):04d}"

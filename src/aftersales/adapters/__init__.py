"""Adapters: implementations of the ports (in-memory here; SQL in ``aftersales.adapters.sql``)."""

from aftersales.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from aftersales.adapters.system import ManualClock, RandomIds, SequentialIds, SystemClock

__all__ = [
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "ManualClock",
    "RandomIds",
    "SequentialIds",
    "SystemClock",
]

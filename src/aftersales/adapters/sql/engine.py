"""One entry point to make a SQLAlchemy engine for the SQL adapter."""

from __future__ import annotations

import json
import os
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

__all__ = ["create_engine"]

#: How long SQLite waits for a lock before reporting "database is locked" (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 5000
#: Server engines: connections older than this are replaced at checkout (seconds), well
#: under MySQL's default ``wait_timeout`` (8 h) and common proxy idle limits.
POOL_RECYCLE_SECONDS = 1800


def create_engine(
    url: str | os.PathLike[str] | sa.URL, *, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    **kw: Any,
) -> sa.Engine:
    """An engine for ``url``: a SQLAlchemy URL (text or object) or a plain SQLite file path.

    Extra keyword arguments go to :func:`sqlalchemy.create_engine` (for example
    ``isolation_level="SERIALIZABLE"``). SQLite gets WAL, ``foreign_keys=ON``,
    ``synchronous=NORMAL``, a busy timeout and real transactions (``BEGIN`` on begin, so reads
    and writes of a unit of work share one snapshot); ``sqlite://`` (in memory) shares one
    connection (StaticPool) so every unit of work sees the same database (use it from one
    thread, one unit of work at a time). JSON is written as UTF-8. MySQL/MariaDB
    connect with ``charset=utf8mb4`` unless the URL says otherwise. Server engines recycle
    pooled connections after :data:`POOL_RECYCLE_SECONDS` and do not ping them on checkout
    (a round trip per unit of work); pass ``pool_pre_ping=True`` where connections may die
    unseen (failovers, aggressive proxies). Nothing connects here.
    """
    kw.setdefault("json_serializer", _dumps)
    if isinstance(url, sa.URL):
        parsed = url
    else:
        text = os.fspath(url)
        if "://" not in text:
            text = "sqlite:///" + os.path.abspath(text)
        parsed = make_url(text)
    backend = parsed.get_backend_name()
    if backend in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    if backend != "sqlite":
        # No pre-ping (a round trip on every checkout): connections are recycled before
        # servers or proxies drop idle ones; pass pool_pre_ping=True to test each checkout.
        kw.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
        return sa.create_engine(parsed, **kw)
    if parsed.database in (None, "", ":memory:"):
        kw.setdefault("poolclass", StaticPool)
        kw.setdefault("connect_args", {"check_same_thread": False})
    engine = sa.create_engine(parsed, **kw)
    _configure_sqlite(engine, sqlite_busy_timeout_ms)
    return engine


def _dumps(value: Any) -> str:
    # UTF-8 as is (not \\uXXXX escapes): Chinese text stays half the size
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _configure_sqlite(engine: sa.Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the sqlite3 module (it would not BEGIN before
        # a SELECT); SQLAlchemy emits BEGIN below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")

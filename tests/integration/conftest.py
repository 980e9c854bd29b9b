"""Fixtures for the SQL adapter: a fresh, isolated database per test on every engine.

SQLite needs nothing (a file in ``tmp_path``). PostgreSQL and MariaDB are found through
``AFTERSALES_TEST_POSTGRES_URL`` and ``AFTERSALES_TEST_MARIADB_URL``; when one is unset the
tests of that engine are skipped, except under ``CI=true`` where a missing or unreachable
server fails them. Each test gets its own PostgreSQL schema (``search_path``) or MariaDB
database, dropped afterwards, so concurrent test runs on the same servers never meet.

The ``store`` of a test is migrated with the shipped migrations (its revision is kept in
``aftersales_alembic_version``, :data:`aftersales.adapters.sql.VERSION_TABLE`) and runs on a
:class:`~aftersales.ManualClock` (``store.clock``, starting at :data:`START`, far from the
wall clock): desks on it share that clock, so every stamp the store writes (outbox
``recorded_at``, ``published_at``, ``failed_at``) is checkable.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aftersales import ManualClock
from aftersales.adapters.sql import SqlStore, create_engine, upgrade

#: Where the clock of every ``store`` fixture starts (UTC+8, with microseconds, years away
#: from the wall clock, so a stamp taken from the system clock instead is caught).
START = datetime(2024, 5, 1, 8, 30, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
#: How far that clock moves on every reading.
CLOCK_STEP = timedelta(minutes=7)

ENGINES = ("sqlite", "postgres", "mariadb")
URL_VARIABLES = {
    "postgres": "AFTERSALES_TEST_POSTGRES_URL",
    "mariadb": "AFTERSALES_TEST_MARIADB_URL",
}
_reachable: dict[str, str | None] = {}  # engine -> reason it is not reachable (None: fine)

EngineFactory = Callable[..., sa.Engine]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _unavailable(message: str) -> None:
    if _in_ci():
        pytest.fail(f"{message} (CI=true: the database servers are required)")
    pytest.skip(message)


def server_url(kind: str) -> str:
    """The server URL of ``kind`` from the environment; skip (or fail under CI) without it."""
    variable = URL_VARIABLES[kind]
    url = os.environ.get(variable, "").strip()
    if not url:
        _unavailable(f"{variable} is not set: {kind} tests need a server URL")
    if kind not in _reachable:
        engine = sa.create_engine(url, poolclass=sa.NullPool)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            _reachable[kind] = None
        except sa.exc.DBAPIError as error:
            _reachable[kind] = f"{kind} at {variable} is unreachable: {error.orig}"
        finally:
            engine.dispose()
    reason = _reachable[kind]
    if reason is not None:
        _unavailable(reason)
    return url


@contextmanager
def isolated_engine(kind: str, tmp_path: Path, **kw: Any) -> Iterator[sa.Engine]:
    """An engine on a fresh, empty, private database of ``kind``; dropped on exit.

    ``kw`` goes to :func:`aftersales.adapters.sql.create_engine` (e.g. isolation_level).
    """
    name = f"aftersales_{uuid.uuid4().hex[:12]}"
    if kind == "sqlite":
        engine = create_engine(tmp_path / f"{name}.db", **kw)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    url = sa.make_url(server_url(kind))
    admin = sa.create_engine(url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")
    try:
        if kind == "postgres":
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
            connect_args = dict(kw.pop("connect_args", {}))
            connect_args["options"] = f"-csearch_path={name}"
            engine = create_engine(url, connect_args=connect_args, **kw)
            drop = f'DROP SCHEMA "{name}" CASCADE'
        else:
            with admin.connect() as conn:
                conn.exec_driver_sql(
                    f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            engine = create_engine(url.set(database=name), **kw)
            drop = f"DROP DATABASE `{name}`"
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.exec_driver_sql(drop)
    finally:
        admin.dispose()


@pytest.fixture(params=ENGINES)
def engine_kind(request: pytest.FixtureRequest) -> str:
    """Each engine in turn: ``sqlite``, ``postgres``, ``mariadb``."""
    kind: str = request.param
    return kind


@pytest.fixture
def make_engine(engine_kind: str, tmp_path: Path) -> Iterator[EngineFactory]:
    """Make extra isolated, empty engines of the current kind (all dropped after the test)."""
    with ExitStack() as stack:

        def make(**kw: Any) -> sa.Engine:
            return stack.enter_context(isolated_engine(engine_kind, tmp_path, **kw))

        yield make


@pytest.fixture
def engine(make_engine: EngineFactory) -> sa.Engine:
    """A fresh, empty, isolated database of the current kind."""
    return make_engine()


@pytest.fixture
def clock() -> ManualClock:
    """The store's clock: :data:`START`, moving :data:`CLOCK_STEP` on every reading."""
    return ManualClock(START, step=CLOCK_STEP)


@pytest.fixture
def store(engine: sa.Engine, clock: ManualClock) -> SqlStore:
    """A SqlStore on a fresh database migrated to head with the shipped migrations, on
    ``clock``."""
    upgrade(engine)
    return SqlStore(engine, clock=clock)


@pytest.fixture(scope="session")
def shared_engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, sa.Engine]]:
    """One migrated database per engine for the whole session (the contract suite shares
    it between tests, as its docs allow); made on first use, dropped at the end."""
    engines: dict[str, sa.Engine] = {}
    with ExitStack() as stack:

        class Lazy(dict[str, sa.Engine]):
            def __missing__(self, kind: str) -> sa.Engine:
                path = tmp_path_factory.mktemp(f"shared-{kind}")
                engine = stack.enter_context(isolated_engine(kind, path))
                upgrade(engine)
                self[kind] = engine
                return engine

        engines = Lazy()
        yield engines


@pytest.fixture(scope="session")
def require_server() -> Callable[[str], None]:
    """Call with an engine kind to skip (or fail under CI) when its server is unavailable."""

    def require(kind: str) -> None:
        if kind != "sqlite":
            server_url(kind)

    return require

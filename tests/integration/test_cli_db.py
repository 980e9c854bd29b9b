"""`aftersales db upgrade URL` brings an empty database to the current schema on every engine;
`aftersales db current URL` reports where a database stands."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from aftersales.adapters.sql import VERSION_TABLE, SqlStore, create_engine, head_revision
from aftersales.cli import main
from aftersales.domain import KINDS

URL_VARIABLES = {
    "postgres": "AFTERSALES_TEST_POSTGRES_URL",
    "mariadb": "AFTERSALES_TEST_MARIADB_URL",
}


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, require_server: Callable[[str], None]
) -> Iterator[str]:
    """The URL of a fresh, empty database (a private schema / database on the servers)."""
    kind: str = request.param
    if kind == "sqlite":
        yield str(tmp_path / "fresh.db")
        return
    require_server(kind)  # skips, or fails under CI=true, without a reachable server
    name = f"aftersales_cli_{uuid.uuid4().hex[:10]}"
    url = sa.make_url(os.environ[URL_VARIABLES[kind]])
    admin = sa.create_engine(url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")
    if kind == "postgres":
        create, drop = f'CREATE SCHEMA "{name}"', f'DROP SCHEMA "{name}" CASCADE'
        target = url.update_query_dict({"options": f"-csearch_path={name}"})
    else:
        create, drop = f"CREATE DATABASE `{name}`", f"DROP DATABASE `{name}`"
        target = url.set(database=name)
    with admin.connect() as conn:
        conn.exec_driver_sql(create)
    try:
        yield target.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(drop)
        admin.dispose()


def test_db_upgrade_brings_an_empty_database_to_head(
    empty_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``db current`` says empty; ``db upgrade`` makes every declared table and records
    ``aftersales_0001`` in ``aftersales_alembic_version``; a second run changes nothing;
    ``db current`` then names the head; the store accepts the schema."""
    head = head_revision()
    assert head == "aftersales_0001"
    assert main(["db", "current", empty_database_url]) == 0
    assert "database schema: empty" in capsys.readouterr().out
    assert main(["db", "upgrade", empty_database_url]) == 0
    assert f"empty -> {head}" in capsys.readouterr().out
    assert main(["db", "upgrade", empty_database_url]) == 0  # a second run changes nothing
    assert f"{head} -> {head}" in capsys.readouterr().out
    assert main(["db", "current", empty_database_url]) == 0
    assert f"database schema: {head} (head {head})" in capsys.readouterr().out
    engine = create_engine(empty_database_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        expected = {t for kind in KINDS for t in (kind.table, f"{kind.table}_record")}
        assert tables == expected | {"outbox", "idempotency_keys", VERSION_TABLE}
        with SqlStore(engine).unit_of_work() as uow:  # the store accepts the schema
            assert uow.requests.find() == []
    finally:
        engine.dispose()


def test_db_upgrade_to_an_unknown_revision_fails_cleanly(
    empty_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown ``--revision``: exit status 1, a one-line error, the database left empty."""
    assert main(["db", "upgrade", empty_database_url, "--revision", "aftersales_0099"]) == 1
    assert "aftersales db upgrade:" in capsys.readouterr().err
    assert main(["db", "current", empty_database_url]) == 0
    assert "database schema: empty" in capsys.readouterr().out


@pytest.mark.parametrize("action", ["upgrade", "current"])
def test_db_reports_an_unreachable_server_without_a_traceback(
    capsys: pytest.CaptureFixture[str], action: str
) -> None:
    """Nothing listens on the port: exit status 1 and a message naming the command."""
    assert main(["db", action, "postgresql+psycopg://nobody@127.0.0.1:9/none"]) == 1
    assert f"aftersales db {action}:" in capsys.readouterr().err

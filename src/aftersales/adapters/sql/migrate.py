"""Alembic migrations shipped inside the package, run programmatically (no alembic.ini)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from aftersales.adapters.sql.engine import create_engine
from aftersales.errors import StorageError

__all__ = [
    "MIGRATIONS",
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "stamp",
    "upgrade",
]

#: The directory of the shipped Alembic environment (env.py, script.py.mako, versions/).
MIGRATIONS = Path(__file__).with_name("migrations")

UrlOrEngine = str | os.PathLike[str] | sa.Engine

#: Where aftersales keeps its migration history (its own table: a host application's
#: ``alembic_version`` is left alone).
VERSION_TABLE = "aftersales_alembic_version"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic :class:`~alembic.config.Config` for the shipped migrations.

    With ``connection``, commands run on it (inside its transaction); otherwise set
    ``sqlalchemy.url`` yourself (e.g. for ``--sql`` offline mode).
    """
    config = Config()
    config.set_main_option("script_location", os.fspath(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _alembic_errors(action: str) -> Iterator[None]:
    try:
        yield
    except CommandError as error:
        raise StorageError(f"cannot {action}: {error}") from error


@contextmanager
def _connection(url_or_engine: UrlOrEngine) -> Iterator[sa.Connection]:
    if isinstance(url_or_engine, sa.Engine):
        engine, owned = url_or_engine, False
    else:
        engine, owned = create_engine(url_or_engine), True
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        if owned:
            engine.dispose()


def upgrade(url_or_engine: UrlOrEngine, revision: str = "head") -> None:
    """Migrate the database at ``url_or_engine`` (URL, SQLite path or engine) to ``revision``.

    Runs in one transaction where the engine has transactional DDL (PostgreSQL, SQLite).
    An unknown revision raises :class:`~aftersales.errors.StorageError`.
    """
    with _alembic_errors(f"upgrade to {revision}"), _connection(url_or_engine) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(url_or_engine: UrlOrEngine, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"`` drops every table)."""
    with _alembic_errors(f"downgrade to {revision}"), _connection(url_or_engine) as connection:
        command.downgrade(alembic_config(connection), revision)
        if revision == "base":  # Alembic keeps its (now empty) version table: ours goes too
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))


def stamp(url_or_engine: UrlOrEngine, revision: str = "head", *, purge: bool = False) -> None:
    """Record ``revision`` as the schema's revision without running migrations
    (``purge``: first forget whatever revision is recorded, even an unknown one)."""
    with _alembic_errors(f"stamp {revision}"), _connection(url_or_engine) as connection:
        command.stamp(alembic_config(connection), revision, purge=purge)


def current_revision(url_or_engine: UrlOrEngine) -> str | None:
    """The revision the database is at, or None when it has no aftersales schema."""
    with _alembic_errors("read the revision"), _connection(url_or_engine) as connection:
        return MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped in :data:`MIGRATIONS`."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()

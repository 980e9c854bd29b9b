"""The shipped Alembic migration equals the declarations, on SQLite, PostgreSQL and MariaDB.

The tables come from the aggregate kind declarations (:func:`build_schema`); the migration
``aftersales_0001`` is a file written once from them. These tests keep the two equal (after
``upgrade`` Alembic's autogenerate comparison finds no difference, types and server defaults
included), prove that the comparison would notice a difference, and check the migration
history: one revision, ``downgrade`` to base removes everything, and the history lives in
``aftersales_alembic_version`` so a host application's own ``alembic_version`` is left alone.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from aftersales.adapters.sql import (
    HEAD_REVISION,
    VERSION_TABLE,
    alembic_config,
    build_schema,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from aftersales.adapters.sql import schema as sql_schema
from aftersales.domain import KINDS
from aftersales.domain.kernel import Kinds, QueryField
from aftersales.domain.request import REQUESTS
from aftersales.errors import StorageError

HOST_VERSION_TABLE = "alembic_version"
HOST_REVISION = "host_app_0042"


def differences(engine: sa.Engine, metadata: sa.MetaData) -> list[Any]:
    """What Alembic's autogenerate would change to bring the database to ``metadata``
    (types compared; the aftersales version table is Alembic's own, not a difference)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "compare_server_default": True,
            "version_table": VERSION_TABLE,
        })
        diff: list[Any] = compare_metadata(context, metadata)
    return diff


def tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_the_shipped_migration_creates_exactly_the_declared_tables(engine: sa.Engine) -> None:
    """After ``upgrade`` the database holds the declared schema of every shipped kind and
    nothing else: no missing or extra table, column, index, key or constraint, no other
    column type."""
    upgrade(engine)
    declared = build_schema(KINDS).metadata
    assert differences(engine, declared) == []
    assert tables(engine) == set(declared.tables) | {VERSION_TABLE}
    assert current_revision(engine) == HEAD_REVISION == head_revision() == "aftersales_0001"


def test_the_comparison_notices_a_declaration_the_migration_lacks(engine: sa.Engine) -> None:
    """The equality above can fail: a kind declaring one more query field (a new column and
    its index) differs from the migrated database."""
    upgrade(engine)
    grown = attrs.evolve(REQUESTS, fields=(*REQUESTS.fields, QueryField("site", str)))
    kinds = Kinds(grown if kind is REQUESTS else kind for kind in KINDS)
    diff = differences(engine, build_schema(kinds).metadata)
    changes = [entry[0] if isinstance(entry, tuple) else entry[0][0] for entry in diff]
    assert "add_column" in changes and "add_index" in changes
    assert any("site" in repr(entry) for entry in diff)


def test_the_code_knows_exactly_the_shipped_revisions() -> None:
    """``REVISIONS`` (what the store accepts) mirrors ``migrations/versions``: the same
    revisions, oldest first, the newest one the head."""
    script = ScriptDirectory.from_config(alembic_config())
    shipped = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    assert tuple(shipped) == sql_schema.REVISIONS
    assert sql_schema.REVISIONS[-1] == HEAD_REVISION == script.get_current_head()


def test_upgrade_then_downgrade_to_base_leaves_no_tables(engine: sa.Engine) -> None:
    """``downgrade(engine, "base")`` removes every table the migration made, its version
    table included; ``upgrade`` then rebuilds the same schema."""
    upgrade(engine)
    assert tables(engine)
    downgrade(engine, "base")
    assert tables(engine) == set()
    assert current_revision(engine) is None
    upgrade(engine)
    assert differences(engine, build_schema(KINDS).metadata) == []


def test_a_hosts_own_alembic_version_table_is_left_alone(engine: sa.Engine) -> None:
    """The revision is kept in ``aftersales_alembic_version``: an application that migrates
    its own tables with Alembic in the same database keeps its ``alembic_version`` row
    through our upgrade and downgrade, and our revision never reads it."""
    assert VERSION_TABLE == "aftersales_alembic_version"
    host = sa.Table(HOST_VERSION_TABLE, sa.MetaData(),
                    sa.Column("version_num", sa.String(32), primary_key=True))
    with engine.begin() as conn:
        host.create(conn)
        conn.execute(host.insert(), {"version_num": HOST_REVISION})

    def host_rows() -> list[str]:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(host.c.version_num)).scalars())

    assert current_revision(engine) is None  # the host's row is not ours
    upgrade(engine)
    ours = sa.Table(VERSION_TABLE, sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        assert list(conn.execute(sa.select(ours.c.version_num)).scalars()) == [HEAD_REVISION]
    assert host_rows() == [HOST_REVISION]
    downgrade(engine, "base")
    assert host_rows() == [HOST_REVISION]
    assert tables(engine) == {HOST_VERSION_TABLE}


@pytest.mark.parametrize("revision", ["aftersales_0002", "not-a-revision"])
def test_an_unknown_target_revision_is_a_storage_error(
    engine: sa.Engine, revision: str
) -> None:
    """Asking for a revision that is not shipped is refused with StorageError and leaves
    the database as it was."""
    with pytest.raises(StorageError, match="upgrade to"):
        upgrade(engine, revision)
    assert tables(engine) <= {VERSION_TABLE}
    assert current_revision(engine) is None

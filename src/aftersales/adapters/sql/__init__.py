"""The SQL adapter: SQLAlchemy Core storage for every port, with shipped Alembic migrations.

::

    from aftersales.adapters.sql import SqlStore, create_engine, upgrade

    engine = create_engine("postgresql+psycopg://user@host/db")  # or "aftersales.db"
    upgrade(engine)
    store = SqlStore(engine)
    desk = ServiceDesk(store.unit_of_work, clock=SystemClock(), ids=RandomIds())

Works on PostgreSQL (and CockroachDB), MariaDB/MySQL and SQLite. Importing this package
connects to nothing.
"""

from aftersales.adapters.sql.engine import create_engine
from aftersales.adapters.sql.migrate import (
    VERSION_TABLE,
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    stamp,
    upgrade,
)
from aftersales.adapters.sql.schema import HEAD_REVISION, SqlSchema, build_schema
from aftersales.adapters.sql.store import SqlOutbox, SqlStore, SqlUnitOfWork

__all__ = [
    "HEAD_REVISION",
    "VERSION_TABLE",
    "SqlOutbox",
    "SqlSchema",
    "SqlStore",
    "SqlUnitOfWork",
    "alembic_config",
    "build_schema",
    "create_engine",
    "current_revision",
    "downgrade",
    "head_revision",
    "stamp",
    "upgrade",
]

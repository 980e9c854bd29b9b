"""The hot path of the SQL adapter: fixed statements compiled once, run at driver level.

A unit of work sends the same few statements over and over (load a row by id, its record
rows, the read check, the versioned UPDATE, the record, outbox and key INSERTs). Through
``Connection.execute`` each costs SQLAlchemy's whole execution context (tens of
microseconds, more than SQLite needs to run it). A :class:`DriverStatement` compiles its
SQLAlchemy Core statement once for the engine's dialect (so the SQL stays portable: it is the
dialect's own rendering) and keeps the type processors of its parameters and result columns;
:meth:`DriverStatement.run` then sends it on the DB-API connection *of the SQLAlchemy
connection*, inside the same transaction (begun the SQLAlchemy way first, so a host
application's transaction, ``begin`` listeners and SQLite's ``BEGIN`` all still apply).

When anything listens to SQLAlchemy's cursor events (``before_cursor_execute`` /
``after_cursor_execute``: tracing, statement logging, the benchmarks' recorder), or the engine
echoes statements, the statement runs through ``Connection.exec_driver_sql`` instead, which
fires them, with the very same SQL and parameters. Driver errors are raised as SQLAlchemy's
``DBAPIError`` (so the store maps them exactly as before) and a lost connection is
invalidated in the pool.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

__all__ = ["DriverResult", "DriverStatement", "uses_driver"]

Processor = Callable[[Any], Any] | None


def uses_driver(conn: sa.Connection) -> bool:
    """True when statements may go straight to the driver on ``conn`` (nobody listens to
    its cursor events and it does not echo)."""
    dispatch = conn.dispatch
    return not (
        dispatch.before_cursor_execute or dispatch.after_cursor_execute or conn.engine.echo
    )


class DriverResult:
    """The rows of a driver-level statement (named tuples: ``row.id``, ``row.doc`` ...) and,
    for INSERT, UPDATE and DELETE, the number of rows it affected."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount


def _uuid_memo(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A UUID column's result processor that builds each distinct value once per result
    (record rows repeat a few actor and subject ids many times)."""
    seen: dict[Any, Any] = {}

    def memo(value: Any) -> Any:
        found = seen.get(value)
        if found is None:
            found = seen[value] = process(value)
        return found

    return memo


class DriverStatement:
    """One Core statement, compiled once for ``dialect``; see the module documentation."""

    def __init__(self, statement: sa.ClauseElement, dialect: sa.Dialect) -> None:
        compiled: Any = statement.compile(dialect=dialect)  # a SQLCompiler
        self.statement = statement
        self.sql: str = compiled.string
        self.positional: bool = bool(compiled.positional)
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        names: Sequence[str] = (
            list(compiled.positiontup or ()) if self.positional else list(by_name)
        )
        # (the caller's key, the compiled name, the processor) for every parameter
        self.binds: list[tuple[str, str, Processor]] = [
            (by_name[name].key, name, by_name[name].type._cached_bind_processor(dialect))
            for name in names
        ]
        columns = getattr(compiled, "_result_columns", None) or []
        self.columns: tuple[str, ...] = tuple(column[0] for column in columns)
        self.result_types: list[Any] = [column[3] for column in columns]
        self.row_type: Any = (
            namedtuple("Row", self.columns, rename=True) if self.columns else None
        )
        self.dialect = dialect
        self._processors: list[Processor] | None = None

    # --- parameters and results --------------------------------------------------------

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters for ``values`` (keyed like ``Connection.execute``'s)."""
        if self.positional:
            return tuple(
                value if process is None or value is None else process(value)
                for key, _, process in self.binds
                for value in (values[key],)
            )
        return {
            name: value if process is None or value is None else process(value)
            for key, name, process in self.binds
            for value in (values[key],)
        }

    def _row_processors(self, description: Any) -> list[Processor]:
        if self._processors is None:
            found: list[Processor] = []
            for index, type_ in enumerate(self.result_types):
                code = description[index][1] if description is not None else None
                process = type_._cached_result_processor(self.dialect, code)
                if process is not None and isinstance(type_, sa.Uuid):
                    process = ("uuid", process)  # memoised per result below
                found.append(process)
            self._processors = found
        return self._processors

    def _rows(self, raw: Sequence[Sequence[Any]], description: Any) -> list[Any]:
        if self.row_type is None:
            return []
        processors = [
            _uuid_memo(p[1]) if isinstance(p, tuple) else p
            for p in self._row_processors(description)
        ]
        make = self.row_type._make
        if not any(processors):
            return [make(row) for row in raw]
        pairs = list(enumerate(processors))
        rows = []
        for row in raw:
            values = list(row)
            for index, process in pairs:
                if process is not None and values[index] is not None:
                    values[index] = process(values[index])
            rows.append(make(values))
        return rows

    # --- running -------------------------------------------------------------------------

    def run(self, conn: sa.Connection, values: Mapping[str, Any] | None = None) -> DriverResult:
        """Execute once with ``values``; fetch every row (processed like SQLAlchemy's)."""
        params = self.parameters(values or {})
        if not uses_driver(conn):
            result = conn.exec_driver_sql(self.sql, params)
            if not result.returns_rows:
                return DriverResult([], result.rowcount)
            description = result.cursor.description if result.cursor is not None else None
            return DriverResult(self._rows(result.all(), description), result.rowcount)
        cursor = self._cursor(conn)
        try:
            cursor.execute(self.sql, params)
            if cursor.description is None:
                return DriverResult([], cursor.rowcount)
            return DriverResult(self._rows(cursor.fetchall(), cursor.description),
                                cursor.rowcount)
        except self.dialect.loaded_dbapi.Error as error:
            raise self._translated(conn, error, params) from error
        finally:
            cursor.close()

    def run_many(self, conn: sa.Connection, values: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per item of ``values`` (DB-API ``executemany``)."""
        if not values:
            return
        params = [self.parameters(v) for v in values]
        if not uses_driver(conn):
            conn.exec_driver_sql(self.sql, params)
            return
        cursor = self._cursor(conn)
        try:
            cursor.executemany(self.sql, params)
        except self.dialect.loaded_dbapi.Error as error:
            raise self._translated(conn, error, params) from error
        finally:
            cursor.close()

    @staticmethod
    def _cursor(conn: sa.Connection) -> Any:
        if not conn.in_transaction():
            conn.begin()  # the SQLAlchemy way: begin listeners run, the host sees it
        return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def _translated(self, conn: sa.Connection, error: Exception, params: Any) -> Exception:
        """The driver's ``error`` as SQLAlchemy raises it (a lost connection invalidated)."""
        dbapi = self.dialect.loaded_dbapi
        try:
            lost = self.dialect.is_disconnect(
                error, conn.connection.dbapi_connection, None  # type: ignore[arg-type]
            )
        except Exception:  # pragma: no cover - a dialect that cannot tell
            lost = False
        if lost:
            conn.invalidate(error)
        return sa_exc.DBAPIError.instance(
            self.sql, params, error, dbapi.Error, connection_invalidated=lost,
            dialect=self.dialect,
        )

"""What every benchmark here shares: timing, verdicts, fresh databases, and the capture and
raw replay of exactly the statements the SQL adapter sends.

Timing: every benchmark runs its sides interleaved, round after round (so a noisy neighbour
slows all of them alike), and keeps every round. A :class:`Series` holds the seconds per
operation of each round; it reports the minimum (the least disturbed run, what the targets
are judged on) and the median (what a typical run costs).

Verdicts: :func:`judge` prints the ratio of two series, min over min and median over median,
against two bounds: the no-regression bound of the kernel issue (issue 8: the ratios measured
before the redesign must not get worse) and the target of the performance issue (issue 9).
Each says MET or MISSED; :func:`summary` repeats them all at the end.

Raw replay: :class:`Recorder` listens on a SQLAlchemy engine (``before_cursor_execute``,
``after_cursor_execute``, ``commit``, ``rollback`` and the pool's ``reset``) and keeps every
statement with its parameters exactly as bound for the driver (so on SQLite a UUID is the hex
text the adapter stores and a datetime its text form). :func:`replay` sends such a script to
a bare DB-API connection (``sqlite3`` or ``psycopg``): the same statements, the same
parameters, the same commits and rollbacks, every result fetched and every JSON document in
it (``doc``, ``payload`` columns) decoded with :func:`json.loads`; the row count of every
INSERT, UPDATE and DELETE must equal the adapter's, so a replay that went astray fails loudly
instead of timing different work.

:func:`mirrored` runs a comparison on three identical databases: ``capture`` (the adapter
runs there with the recorder on, untimed), ``adapter`` (the adapter runs the same commands
there, timed, nothing listening) and ``raw`` (the captured script is replayed there, timed).
The worlds are built deterministically (sequential ids, a manual clock), so the three
databases hold the same rows at every point and the script is valid on ``raw``.
:func:`compare` alternates the sides chunk by chunk (a lifecycle or two), so a noisy
neighbour slows both alike.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import event

from aftersales.adapters.sql import create_engine, upgrade

__all__ = [
    "DEFAULT_PG_URL",
    "Database",
    "Recorder",
    "Series",
    "Statement",
    "Verdict",
    "clock",
    "clock_name",
    "fresh_database",
    "judge",
    "judge_time",
    "mirrored",
    "postgres_reachable",
    "postgres_url",
    "profile",
    "replay",
    "summary",
    "time_rounds",
    "use_cpu_time",
]

W = TypeVar("W")

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

#: Result columns that hold JSON documents (the aggregate and the outbox payload).
DOCUMENT_COLUMNS = frozenset({"doc", "payload"})


# --- timing ----------------------------------------------------------------------------------

_CPU_TIME = False


def use_cpu_time(on: bool) -> None:
    """``--cpu``: time in-memory work (all of it in this process, no I/O) by this process's
    CPU time instead of the wall clock, so other processes on a shared machine do not skew
    it. Database work is always timed by the wall clock: its I/O waits are part of the
    database's cost, and the bounds were measured that way."""
    global _CPU_TIME
    _CPU_TIME = on


def clock(kind: str) -> Callable[[], float]:
    """The clock for work on ``kind`` ("memory", "sqlite" or "postgres")."""
    return time.process_time if _CPU_TIME and kind == "memory" else time.perf_counter


def clock_name(kind: str) -> str:
    """What :func:`clock` measures for ``kind``."""
    return "CPU time" if clock(kind) is time.process_time else "wall time"



@dataclass
class Series:
    """Seconds per operation, one sample per round."""

    label: str
    samples: list[float] = field(default_factory=list)
    operations: int = 0  # per round

    def add(self, seconds: float, operations: int) -> None:
        if operations <= 0:
            raise ValueError(f"{self.label}: a round did no operation")
        self.samples.append(seconds / operations)
        self.operations = operations

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def line(self, unit: str = "op") -> str:
        """``label: min .. us/op, median .. us/op (N rounds of M)``."""
        return (f"{self.label:<34}: min {self.min * 1e6:9.1f} us/{unit}  median "
                f"{self.median * 1e6:9.1f} us/{unit}  ({1 / self.min:>10,.0f} {unit}/s at best;"
                f" {len(self.samples)} rounds of {self.operations:,})")


def time_rounds(
    sides: Sequence[tuple[str, Callable[[], tuple[float, int]]]], rounds: int
) -> list[Series]:
    """Run every side once per round, interleaved; each side returns (seconds, operations)."""
    series = [Series(label) for label, _ in sides]
    for _ in range(rounds):
        for (_label, run), s in zip(sides, series, strict=True):
            gc.collect()
            seconds, operations = run()
            s.add(seconds, operations)
    return series


# --- verdicts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One judged figure: a ratio (``unit`` "x") or a time, with its min and median."""

    what: str
    best: float  # the minimum over the runs
    typical: float  # the median over the runs
    bound: float | None  # issue 8: no regression (None: the issue names none)
    target: float  # issue 9: the performance target
    unit: str = "x"
    on: str = "min"  # which of the two is judged

    @property
    def judged(self) -> float:
        return self.best if self.on == "min" else self.typical

    @property
    def no_regression(self) -> bool | None:
        return None if self.bound is None else self.judged <= self.bound

    @property
    def target_met(self) -> bool:
        return self.judged <= self.target

    def line(self) -> str:
        u = self.unit if self.unit == "x" else f" {self.unit}"
        text = f"{self.what}: {self.best:.2f}{u} (min) / {self.typical:.2f}{u} (median)"
        if self.bound is not None:
            text += f"; no regression <= {self.bound:g}{u}: {_word(bool(self.no_regression))}"
        text += f"; issue 9 target <= {self.target:g}{u}: {_word(self.target_met)}"
        return text + ("" if self.on == "min" else " (judged on the median)")


_VERDICTS: list[Verdict] = []


def _word(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def _keep(verdict: Verdict, indent: str) -> Verdict:
    _VERDICTS.append(verdict)
    print(f"{indent}{verdict.line()}")
    return verdict


def judge(what: str, slow: Series, fast: Series, *, bound: float, target: float) -> Verdict:
    """Print and remember the ratio ``slow / fast`` (min over min, median over median),
    judged on the minimum."""
    return _keep(Verdict(f"ratio {what}", slow.min / fast.min, slow.median / fast.median,
                         bound, target), "  ")


def judge_time(what: str, series: Series, *, bound: float | None, target: float,
               unit: str = "ms", on: str = "median") -> Verdict:
    """Print and remember a time per operation (``unit`` "ms" or "s") against its bounds."""
    scale = 1e3 if unit == "ms" else 1.0
    return _keep(Verdict(what, series.min * scale, series.median * scale, bound, target, unit,
                         on), "      ")


def summary(quick: bool, *, everything: bool = False) -> list[Verdict]:
    """Print the verdicts judged since the last summary (``everything``: all of this
    process); return them."""
    global _SUMMARIZED
    chosen = _VERDICTS if everything else _VERDICTS[_SUMMARIZED:]
    _SUMMARIZED = len(_VERDICTS)
    print()
    print(f"summary ({'--quick: small sizes, indicative only' if quick else 'full mode'}):")
    for verdict in chosen:
        print(f"  {verdict.line()}")
    sys.stdout.flush()
    return list(chosen)


_SUMMARIZED = 0


# --- databases -------------------------------------------------------------------------------


def postgres_url() -> str:
    """The PostgreSQL server to benchmark on (a private schema is made in it and dropped)."""
    return os.environ.get(
        "AFTERSALES_BENCH_POSTGRES_URL",
        os.environ.get("AFTERSALES_TEST_POSTGRES_URL", DEFAULT_PG_URL),
    )


def postgres_reachable(url: str) -> str | None:
    """None if PostgreSQL at ``url`` answers; otherwise why not."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return None
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        engine.dispose()


@dataclass
class Database:
    """One fresh, migrated database: the adapter's engine and a bare DB-API connector with
    the same settings (SQLite: WAL, synchronous=NORMAL, foreign keys, busy timeout, the
    transactions driven by explicit BEGIN; PostgreSQL: the server's defaults on both)."""

    kind: str  # "sqlite" | "postgres"
    engine: sa.Engine
    connect_raw: Callable[[], Any]
    label: str


@contextmanager
def fresh_database(kind: str, tmp: Path, pg_url: str | None = None) -> Iterator[Database]:
    """A fresh database of ``kind`` migrated to the head revision; removed on exit."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    if kind == "sqlite":
        path = tmp / f"{name}.db"
        engine = create_engine(path)
        try:
            upgrade(engine)

            def connect_sqlite() -> sqlite3.Connection:
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA busy_timeout = 5000")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                return conn

            yield Database(kind, engine, connect_sqlite,
                           f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)")
        finally:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if kind != "postgres":
        raise ValueError(f"unknown engine {kind!r}")
    url = sa.make_url(pg_url or postgres_url())
    admin = sa.create_engine(url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        engine = create_engine(url, connect_args={"options": f"-csearch_path={name}"})
        try:
            upgrade(engine)
            conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)

            def connect_pg() -> Any:
                import psycopg

                return psycopg.connect(conninfo, options=f"-csearch_path={name}")

            with engine.connect() as conn:
                version = conn.exec_driver_sql("SHOW server_version").scalar_one()
            yield Database(kind, engine, connect_pg, f"PostgreSQL {version.split()[0]}")
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


# --- capture and replay ----------------------------------------------------------------------

COMMIT = "-- commit"
ROLLBACK = "-- rollback"


@dataclass(frozen=True)
class Statement:
    """One call the adapter made on its DB-API connection."""

    sql: str  # the statement, or COMMIT / ROLLBACK
    params: Any = None
    many: bool = False
    documents: tuple[int, ...] = ()  # result columns to decode as JSON
    rowcount: int = -1  # what an INSERT/UPDATE/DELETE affected (-1: not checked)


class Recorder:
    """Records every statement, commit and rollback an engine sends while it listens."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.script: list[Statement] = []

    def _after(self, _conn: Any, cursor: Any, statement: str, params: Any, _ctx: Any,
               many: bool) -> None:
        description = cursor.description or ()
        documents = tuple(i for i, column in enumerate(description)
                          if column[0] in DOCUMENT_COLUMNS)
        verb = statement.lstrip()[:6].upper()
        rowcount = cursor.rowcount if verb in ("INSERT", "UPDATE", "DELETE") else -1
        copied = [p for p in params] if many else (
            dict(params) if isinstance(params, dict) else params
        )
        self.script.append(Statement(statement, copied, many, documents, rowcount))

    def _commit(self, _conn: Any) -> None:
        self.script.append(Statement(COMMIT))

    def _rollback(self, _conn: Any) -> None:
        self.script.append(Statement(ROLLBACK))

    def _reset(self, _dbapi: Any, _record: Any, *_: Any) -> None:
        # the pool rolls back a connection it takes back (a no-op when it is idle)
        self.script.append(Statement(ROLLBACK))

    @contextmanager
    def listening(self) -> Iterator[list[Statement]]:
        """Record while inside the block; yields the script recorded so far."""
        self.script = []
        hooks: list[tuple[Any, str, Callable[..., None]]] = [
            (self.engine, "after_cursor_execute", self._after),
            (self.engine, "commit", self._commit),
            (self.engine, "rollback", self._rollback),
            (self.engine.pool, "reset", self._reset),
        ]
        for target, name, fn in hooks:
            event.listen(target, name, fn)
        try:
            yield self.script
        finally:
            for target, name, fn in hooks:
                event.remove(target, name, fn)


class ReplayDiverged(RuntimeError):
    """The raw replay affected other rows than the adapter did: not the same work."""


def replay(conn: Any, script: Sequence[Statement]) -> None:
    """Send ``script`` to the bare DB-API connection ``conn`` (see the module docs)."""
    loads = json.loads
    cur = conn.cursor()
    for st in script:
        sql = st.sql
        if sql is COMMIT:
            conn.commit()
            continue
        if sql is ROLLBACK:
            conn.rollback()
            continue
        if st.many:
            cur.executemany(sql, st.params)
        else:
            cur.execute(sql, st.params)
        if cur.description is not None:
            rows = cur.fetchall()
            for i in st.documents:
                for row in rows:
                    document = row[i]
                    if isinstance(document, str | bytes):  # (a JSON column comes decoded)
                        loads(document)
        if st.rowcount >= 0 and cur.rowcount != st.rowcount:
            raise ReplayDiverged(f"{sql[:80]!r} affected {cur.rowcount} rows, the adapter "
                                 f"{st.rowcount}")
    cur.close()


def count_statements(script: Sequence[Statement]) -> tuple[int, int]:
    """(statements, commits) in ``script``."""
    commits = sum(1 for st in script if st.sql is COMMIT)
    statements = sum(1 for st in script if st.sql not in (COMMIT, ROLLBACK))
    return statements, commits


class Mirror(Generic[W]):
    """Three identical worlds on three fresh databases (see :func:`mirrored`)."""

    def __init__(self, capture: W, capture_db: Database, adapter: W, raw_conn: Any) -> None:
        self.tick = clock(capture_db.kind)
        self.capture = capture
        self.recorder = Recorder(capture_db.engine)
        self.adapter = adapter
        self.raw_conn = raw_conn
        self.last_script: list[Statement] = []  # of the last recorded chunk

    def record(self, work: Callable[[W], int]) -> tuple[list[Statement], int]:
        """Run ``work`` on the capture world with the recorder on; (script, operations)."""
        with self.recorder.listening() as script:
            operations = work(self.capture)
            recorded = list(script)
        self.last_script = recorded
        return recorded, operations

    def time_adapter(self, work: Callable[[W], int]) -> tuple[float, int]:
        start = self.tick()
        operations = work(self.adapter)
        return self.tick() - start, operations

    def time_raw(self, script: Sequence[Statement], operations: int) -> tuple[float, int]:
        start = self.tick()
        replay(self.raw_conn, script)
        return self.tick() - start, operations


@contextmanager
def mirrored(
    kind: str, tmp: Path, build: Callable[[Database], W], pg_url: str | None = None
) -> Iterator[tuple[Mirror[W], Database]]:
    """Three fresh databases of ``kind``, each given the world ``build`` makes (which must be
    deterministic); the third is then driven only by raw replay."""
    with ExitStack() as stack:
        capture_db = stack.enter_context(fresh_database(kind, tmp, pg_url))
        adapter_db = stack.enter_context(fresh_database(kind, tmp, pg_url))
        raw_db = stack.enter_context(fresh_database(kind, tmp, pg_url))
        capture = build(capture_db)
        adapter = build(adapter_db)
        build(raw_db)
        raw_db.engine.dispose()
        raw_conn = raw_db.connect_raw()
        try:
            yield Mirror(capture, capture_db, adapter, raw_conn), adapter_db
        finally:
            raw_conn.close()


def compare(
    mirror: Mirror[W], chunk: Callable[[W], int], chunks: int, rounds: int,
    adapter_label: str, raw_label: str,
) -> tuple[Series, Series]:
    """One warm-up chunk, then ``rounds`` rounds of ``chunks`` chunks each. Per chunk:
    capture ``chunk`` (untimed), run it on the adapter (timed), replay the capture raw
    (timed); so both sides meet the same moment of a noisy machine. A round's figure is the
    sum of its chunks."""
    script, operations = mirror.record(chunk)  # warm up every side
    mirror.time_adapter(chunk)
    mirror.time_raw(script, operations)
    adapter, raw = Series(adapter_label), Series(raw_label)
    for _ in range(rounds):
        gc.collect()
        adapter_s = raw_s = 0.0
        total = 0
        for _ in range(chunks):
            script, operations = mirror.record(chunk)
            seconds, done = mirror.time_adapter(chunk)
            if done != operations:
                raise RuntimeError("the adapter and the capture ran different work")
            adapter_s += seconds
            raw_s += mirror.time_raw(script, operations)[0]
            total += operations
        adapter.add(adapter_s, total)
        raw.add(raw_s, total)
    return adapter, raw


# --- profiles --------------------------------------------------------------------------------

#: (what, test on the cProfile entry's file name and function name), first match wins.
_CATEGORIES: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    ("database driver and its waits (sqlite3, psycopg, select)",
     lambda f, n: (f == "~" and any(w in n for w in ("sqlite3", "psycopg", "select", "poll")))
     or "/psycopg" in f),
    ("SQLAlchemy", lambda f, n: "/sqlalchemy/" in f),
    ("cattrs (documents)", lambda f, n: "/cattrs/" in f or "cattrs" in f),
    ("json (C and Python)", lambda f, n: "/json/" in f or (f == "~" and "_json" in n)),
    ("hashlib (record digests)", lambda f, n: f == "~" and ("sha256" in n or "hashlib" in n)),
    ("transitions", lambda f, n: "/transitions/" in f),
    ("attrs (generated __init__, validators, evolve)",
     lambda f, n: "/attr/" in f or "/attrs/" in f or "attrs generated" in f),
    ("uuid", lambda f, n: f.endswith("/uuid.py")),
    ("datetime / zoneinfo", lambda f, n: f == "~" and ("datetime" in n or "zoneinfo" in n)),
    ("aftersales.adapters (unit of work, stores, codec)",
     lambda f, n: "/aftersales/adapters/" in f),
    ("aftersales.service (runner, handlers, commands)", lambda f, n: "/aftersales/service/" in f),
    ("aftersales.workflows (steps, Workflow.fire)", lambda f, n: "/aftersales/workflows/" in f),
    ("aftersales.domain (aggregates, events, record)", lambda f, n: "/aftersales/domain/" in f),
    ("other builtins (copy, dict, list, isinstance ...)", lambda f, n: f == "~"),
)


def _category(filename: str, name: str) -> str:
    for what, test in _CATEGORIES:
        if test(filename, name):
            return what
    return "other Python (stdlib, benchmark)"


def profile(label: str, run: Callable[[], object], top: int = 18) -> None:
    """Run ``run`` under cProfile and print where its time goes: own time by layer (the
    deterministic profiler inflates Python-heavy layers somewhat; read it as shares), then
    the functions with the most own time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    stats: Any = pstats.Stats(profiler)
    by_layer: dict[str, float] = {}
    functions: list[tuple[float, str]] = []
    total = 0.0
    for (filename, line, name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        what = _category(filename, name)
        by_layer[what] = by_layer.get(what, 0.0) + own
        total += own
        where = name if filename == "~" else f"{_short(filename)}:{line} {name}"
        functions.append((own, where))
    print(f"  profile of {label} ({total:.2f} s of own time under cProfile):")
    for what, own in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(f"    {own / total:6.1%}  {what}")
    print(f"  the {top} functions with the most own time:")
    for own, where in sorted(functions, reverse=True)[:top]:
        print(f"    {own / total:6.1%}  {where}")


def _short(filename: str) -> str:
    for marker in ("/site-packages/", "/src/", "/lib/python"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename

"""Benchmark: the SQL adapter against raw DB-API calls doing the same writes, and the adapter's
read paths on large tables.

Run: ``python benchmarks/bench_sql.py [--engines sqlite,postgres] [--lifecycles N] ...``
(``--help`` lists every option). Three parts, each on its own fresh database (a file in a temp
directory for SQLite, a freshly created schema for PostgreSQL; dropped afterwards):

1. **Commands.** The full remote and on-site lifecycles of ``bench_lifecycles.py``, one
   transaction per command, through :class:`ServiceDesk` on :class:`SqlStore`; and, in the
   same run and on the same tables, through the bare driver (``sqlite3`` / ``psycopg``)
   writing the same rows: register = INSERT the request row + its record row(s) + its outbox
   row; every other command = SELECT the request row by id, UPDATE it with the version check,
   INSERT the record row(s), INSERT the outbox row, COMMIT. The document written is the whole
   aggregate with its R9 record (as the adapter stores it). The raw path writes the very
   documents, record entries and event payloads the domain produced (captured once from an
   in-memory run), so both sides move the same bytes. Rounds are interleaved and the best of
   each is kept (as in ``bench_lifecycles.py``); compare the ratio, not absolute rates.
   Targets: SQLite <= 3x raw, PostgreSQL <= 1.5x raw.
2. **Loading.** ``--load-rows`` (100k) realistic requests with their full R9 records are bulk
   inserted (portable SQLAlchemy Core executemany), then all of them are loaded through
   ``uow.requests.find()``; prints seconds.
3. **Queries.** ``--query-rows`` (1M) requests bulk inserted with every index in place, the
   tables analysed (as autovacuum would), then the median time of ``find(customer_id=...,
   states=OPEN)`` ("open requests of a customer") and ``find(states=[...], priority=...,
   limit=50)`` ("requests by state and priority") through the adapter, each in a fresh unit of
   work, plus the ``EXPLAIN`` of the very statements the adapter emitted. Target: < 10 ms.

Data: ~1 customer per 50 requests, registrations spread over three years; requests of the
last months are mostly open, older ones closed. Documents, R9 records and states come from
real lifecycles run through the domain (ids, numbers, customers, priorities and times are
varied per row). With ``--query-records open`` (the default) only open requests get their
record rows in the 1M set (the queries load only open requests; ``all`` writes every record
but takes several times longer).

Adding a lifecycle (for example the depot flow, once the desk has its commands): define a
:class:`Lifecycle` (a ``register`` command and the ``steps`` after it) and add it to
:data:`LIFECYCLES`; part 1 runs it through the adapter and the raw driver and part 2/3 use its
snapshots as data templates. ``--flows`` selects which lifecycles run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import event

from aftersales import (
    Actor,
    Channel,
    ManualClock,
    Priority,
    RandomIds,
    RequestState,
    Role,
    ServiceDesk,
    ServiceRequest,
    in_memory_desk,
)
from aftersales.adapters.sql import SqlStore, create_engine, schema, upgrade
from aftersales.domain.events import DomainEvent
from aftersales.serialization import event_to_dict, make_converter

BOSS = Actor(UUID(int=1), "boss", frozenset({Role.SUPERVISOR, Role.CLERK}))
ENGINEER = Actor(UUID(int=2), "eng", frozenset({Role.ENGINEER}))
START = datetime(2026, 11, 23, tzinfo=UTC)
OPEN_STATES = (
    RequestState.REGISTERED, RequestState.ROUTED, RequestState.ASSIGNED,
    RequestState.IN_PROGRESS, RequestState.RESOLVED, RequestState.CONFIRMED,
    RequestState.HANDED_TO_DEPOT,
)
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# --- lifecycles --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    """Who acts in a lifecycle, and for which customer."""

    boss: Actor
    engineer: Actor
    customer_id: UUID


Step = Callable[[ServiceDesk, Cast, UUID], ServiceRequest]


@dataclass(frozen=True)
class Lifecycle:
    """One full request lifecycle: a registering command and the commands after it."""

    name: str
    register: Callable[[ServiceDesk, Cast], ServiceRequest]
    steps: tuple[Step, ...]

    @property
    def commands(self) -> int:
        return 1 + len(self.steps)

    def run(self, desk: ServiceDesk, cast: Cast) -> Iterator[ServiceRequest]:
        """Run every command; yield the request after each one."""
        request = self.register(desk, cast)
        yield request
        for step in self.steps:
            yield step(desk, cast, request.id)


def _register(summary: str) -> Callable[[ServiceDesk, Cast], ServiceRequest]:
    return lambda d, c: d.register_request(c.boss, customer_id=c.customer_id, summary=summary)


REMOTE_LIFECYCLE = Lifecycle("remote", _register("remote"), (
    lambda d, c, r: d.assign(c.boss, r, engineer_id=c.engineer.id),
    lambda d, c, r: d.start_remote(c.engineer, r),
    lambda d, c, r: d.record_contact(c.engineer, r, channel=Channel.PHONE, summary="called"),
    lambda d, c, r: d.resolve(c.engineer, r, resolution="fixed"),
    lambda d, c, r: d.confirm(c.boss, r),
    lambda d, c, r: d.close(c.boss, r),
))

ONSITE_LIFECYCLE = Lifecycle("onsite", _register("onsite"), (
    lambda d, c, r: d.assign(c.boss, r, engineer_id=c.engineer.id),
    lambda d, c, r: d.start_onsite(c.engineer, r),
    lambda d, c, r: d.confirm_need(c.engineer, r),
    lambda d, c, r: d.approve_dispatch(c.boss, r),
    lambda d, c, r: d.prepare(c.engineer, r),
    lambda d, c, r: d.depart(c.engineer, r),
    lambda d, c, r: d.record_arrival(c.engineer, r),
    lambda d, c, r: d.record_work(c.engineer, r, description="work"),
    lambda d, c, r: d.sign_off(c.engineer, r, found="f", result="r", signed_by="customer"),
    lambda d, c, r: d.resolve(c.engineer, r, resolution="fixed"),
    lambda d, c, r: d.confirm(c.boss, r),
    lambda d, c, r: d.close(c.boss, r),
))

#: Every lifecycle the benchmark knows, by name (``--flows``). Add new flows here.
LIFECYCLES: dict[str, Lifecycle] = {lc.name: lc for lc in (REMOTE_LIFECYCLE, ONSITE_LIFECYCLE)}


# --- what a command writes (captured once from the in-memory adapter) ------------------------

CONVERTER = make_converter()


@dataclass
class Snapshot:
    """The rows one committed command writes for one request."""

    request_id: UUID
    state: str
    priority: int
    engineer_id: UUID | None
    registered_at: datetime
    updated_at: datetime
    version: int
    doc: dict[str, Any]  # the aggregate with its record, without version (as the adapter
    # stores it since schema revision 0003)
    record: list[dict[str, Any]]  # the new R9 entries of this command
    full_record: list[dict[str, Any]]  # the whole record after it
    events: list[tuple[str, int, datetime, dict[str, Any]]]  # name, sequence, at, payload


class _Capture:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.events.extend(events)


def _entry(e: Any) -> dict[str, Any]:
    return {
        "sequence": e.sequence, "at": e.at, "actor_id": e.actor_id, "workflow": e.workflow,
        "subject_id": e.subject_id, "action": e.action, "from_state": e.from_state,
        "to_state": e.to_state, "note": e.note,
    }


def capture(lifecycle: Lifecycle) -> list[Snapshot]:
    """Run ``lifecycle`` in memory and return what each of its commands writes."""
    publisher = _Capture()
    clock = ManualClock(START, step=timedelta(minutes=7))
    desk, store = in_memory_desk(supervisor=BOSS, clock=clock, publisher=publisher)
    store.actors[ENGINEER.id] = ENGINEER
    customer = desk.register_customer(BOSS, name="ACME")
    cast = Cast(BOSS, ENGINEER, customer.id)
    snapshots: list[Snapshot] = []
    seen = 0
    publisher.events.clear()
    for request in lifecycle.run(desk, cast):
        doc = CONVERTER.unstructure(request)
        doc.pop("version")
        events = [
            (e.name, e.sequence, e.occurred_at, event_to_dict(e, CONVERTER))
            for e in publisher.events
        ]
        publisher.events.clear()
        snapshots.append(Snapshot(
            request.id, str(request.state), int(request.priority), request.engineer_id,
            request.registered_at, max(e[2] for e in events), request.version, doc,
            [_entry(e) for e in request.record[seen:]], [_entry(e) for e in request.record],
            events,
        ))
        seen = len(request.record)
    return snapshots


# --- databases ---------------------------------------------------------------------------


@dataclass
class Target:
    """One fresh database of one engine: the adapter's engine plus a raw DB-API connector."""

    kind: str  # "sqlite" | "postgres"
    engine: sa.Engine
    raw_connect: Callable[[], Any]
    label: str = ""


@contextmanager
def fresh_target(kind: str, args: argparse.Namespace, tmp: Path) -> Iterator[Target]:
    """A fresh, migrated database of ``kind``; dropped (schema) or deleted (file) on exit."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    if kind == "sqlite":
        path = tmp / f"{name}.db"
        engine = create_engine(path)
        try:
            upgrade(engine)

            def connect_sqlite() -> sqlite3.Connection:
                conn = sqlite3.connect(path, isolation_level=None)
                conn.execute("PRAGMA busy_timeout = 5000")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                return conn

            yield Target(kind, engine, connect_sqlite, f"SQLite {sqlite3.sqlite_version} (WAL)")
        finally:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    url = sa.make_url(args.postgres_url)
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
            yield Target(kind, engine, connect_pg, f"PostgreSQL {version}")
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


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


# --- part 1: commands through the adapter vs raw DB-API ------------------------------------


def _desk_for(target: Target) -> tuple[ServiceDesk, Cast]:
    store = SqlStore(target.engine)
    with store.unit_of_work() as uow:
        for actor in (BOSS, ENGINEER):
            try:
                uow.actors.get(actor.id)
            except LookupError:
                uow.actors.add(actor)
        uow.commit()
    clock = ManualClock(START, step=timedelta(seconds=1))
    desk = ServiceDesk(store.unit_of_work, clock=clock, ids=RandomIds())
    customer = desk.register_customer(BOSS, name="ACME")
    return desk, Cast(BOSS, ENGINEER, customer.id)


def adapter_run(
    desk: ServiceDesk, cast: Cast, flows: Sequence[Lifecycle], n: int
) -> tuple[float, int]:
    """n of each lifecycle through the service desk; (seconds, commands)."""
    commands = 0
    start = time.perf_counter()
    for _ in range(n):
        for lifecycle in flows:
            for _request in lifecycle.run(desk, cast):
                commands += 1
    return time.perf_counter() - start, commands


class RawWriter:
    """The same rows written with bare driver calls, one transaction per command."""

    def __init__(self, target: Target) -> None:
        self.kind = target.kind
        self.conn = target.raw_connect()
        sqlite = self.kind == "sqlite"
        p = "?" if sqlite else "%s"
        self.begin = "BEGIN" if sqlite else None
        self.insert_request = (
            "INSERT INTO service_requests (id, number, customer_id, equipment_id, state, "
            "priority, engineer_id, registered_at, updated_at, version, doc) VALUES "
            f"({', '.join([p] * 11)})"
        )
        self.select = f"SELECT id, state, version, doc FROM service_requests WHERE id = {p}"
        self.update = (
            f"UPDATE service_requests SET state = {p}, priority = {p}, engineer_id = {p}, "
            f"updated_at = {p}, version = {p}, doc = {p} WHERE id = {p} AND version = {p}"
        )
        self.insert_record = (
            "INSERT INTO request_record (request_id, sequence, at, actor_id, workflow, "
            f"subject_id, action, from_state, to_state, note) VALUES ({', '.join([p] * 10)})"
        )
        self.insert_outbox = (
            "INSERT INTO outbox (event_id, aggregate_id, sequence, name, occurred_at, payload, "
            f"published_at) VALUES ({', '.join([p] * 7)})"
        )

    # values as SQLAlchemy stores them on each engine (SQLite: hex uuids, naive UTC text)
    def uid(self, value: UUID | None) -> Any:
        if value is None or self.kind != "sqlite":
            return value
        return value.hex

    def ts(self, value: datetime) -> Any:
        if self.kind != "sqlite":
            return value
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def close(self) -> None:
        self.conn.close()

    def run(
        self, scripts: Sequence[list[Snapshot]], n: int, customer_id: UUID
    ) -> tuple[float, int]:
        """n of each scripted lifecycle; (seconds, commands)."""
        commands = 0
        start = time.perf_counter()
        for _ in range(n):
            for script in scripts:
                commands += self.lifecycle(script, customer_id)
        return time.perf_counter() - start, commands

    def lifecycle(self, script: list[Snapshot], customer_id: UUID) -> int:
        conn, uid, ts = self.conn, self.uid, self.ts
        template_id = script[0].request_id
        rid = uuid.uuid4()
        number = f"RAW-{rid.hex[:16]}"
        sqlite = self.kind == "sqlite"
        for i, snap in enumerate(script):
            doc = {**snap.doc, "id": str(rid), "number": number, "customer_id": str(customer_id)}
            doc_json = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
            cur = conn.cursor()
            if self.begin:
                cur.execute(self.begin)
            if i == 0:
                cur.execute(self.insert_request, (
                    uid(rid), number, uid(customer_id), None, snap.state, snap.priority,
                    uid(snap.engineer_id), ts(snap.registered_at), ts(snap.updated_at),
                    snap.version, doc_json,
                ))
            else:
                cur.execute(self.select, (uid(rid),))
                row = cur.fetchone()
                stored = json.loads(row[3]) if sqlite else row[3]
                assert stored["id"] == str(rid)
                version = row[2]
                cur.execute(self.update, (
                    snap.state, snap.priority, uid(snap.engineer_id), ts(snap.updated_at),
                    version + 1, doc_json, uid(rid), version,
                ))
                if cur.rowcount != 1:
                    raise RuntimeError("lost update")
            for e in snap.record:
                subject = rid if e["subject_id"] == template_id else e["subject_id"]
                cur.execute(self.insert_record, (
                    uid(rid), e["sequence"], ts(e["at"]), uid(e["actor_id"]), e["workflow"],
                    uid(subject), e["action"], e["from_state"], e["to_state"], e["note"],
                ))
            for name, sequence, at, payload in snap.events:
                body = json.dumps({**payload, "request_id": str(rid)}, ensure_ascii=False,
                                  separators=(",", ":"))
                cur.execute(self.insert_outbox, (
                    uid(uuid.uuid4()), uid(rid), sequence, name, ts(at), body, None,
                ))
            conn.commit() if not sqlite else cur.execute("COMMIT")
            cur.close()
        return len(script)


def bench_commands(
    target: Target, flows: Sequence[Lifecycle], n: int, rounds: int
) -> dict[str, float]:
    """Part 1 on ``target``: best of ``rounds`` interleaved runs of adapter and raw."""
    scripts = [capture(lc) for lc in flows]
    desk, cast = _desk_for(target)
    raw = RawWriter(target)
    try:
        adapter_run(desk, cast, flows, 1)  # warm up both (pools, prepared statements, caches)
        raw.run(scripts, 1, cast.customer_id)
        best: dict[str, tuple[float, int]] = {}
        for _ in range(rounds):
            for label, fn in (
                ("adapter", lambda: adapter_run(desk, cast, flows, n)),
                ("raw", lambda: raw.run(scripts, n, cast.customer_id)),
            ):
                gc.collect()
                seconds, commands = fn()
                if label not in best or seconds < best[label][0]:
                    best[label] = (seconds, commands)
    finally:
        raw.close()
    (a_s, a_n), (r_s, r_n) = best["adapter"], best["raw"]
    adapter_rate, raw_rate = a_n / a_s, r_n / r_s
    ratio = raw_rate / adapter_rate
    target_ratio = 3.0 if target.kind == "sqlite" else 1.5
    names = " + ".join(f"{n} {lc.name}" for lc in flows)
    print(f"  lifecycles per round: {names} ({a_n} commands), best of {rounds} rounds")
    print(f"  ServiceDesk on SqlStore: {adapter_rate:9,.0f} commands/s  "
          f"{1e3 / adapter_rate:7.3f} ms each")
    print(f"  raw DB-API, same writes: {raw_rate:9,.0f} commands/s  {1e3 / raw_rate:7.3f} ms each")
    verdict = "ok" if ratio <= target_ratio else "MISSED"
    print(f"  ratio adapter / raw    : {ratio:6.2f}x  (target <= {target_ratio}x: {verdict})")
    return {"adapter_rate": adapter_rate, "raw_rate": raw_rate, "ratio": ratio}


# --- bulk data ---------------------------------------------------------------------------


@dataclass
class Templates:
    """Snapshots of real lifecycles grouped by the request state after the command."""

    by_state: dict[str, list[Snapshot]] = field(default_factory=dict)

    @classmethod
    def build(cls, flows: Sequence[Lifecycle]) -> Templates:
        templates = cls()
        for lifecycle in flows:
            for snap in capture(lifecycle):
                templates.by_state.setdefault(snap.state, []).append(snap)
        return templates


def _iso(value: datetime) -> str:
    return value.isoformat()


class RowMaker:
    """Realistic service_requests / request_record rows from the templates, reproducibly."""

    def __init__(self, templates: Templates, rows: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.templates = templates
        self.rows = rows
        self.customers = [UUID(int=self.rng.getrandbits(128)) for _ in range(max(1, rows // 50))]
        self.engineers = [UUID(int=self.rng.getrandbits(128)) for _ in range(200)]
        self.span = timedelta(days=3 * 365)
        self.first = START - self.span
        self.open_states = [s for s in map(str, OPEN_STATES) if s in templates.by_state]
        self.closed = "closed"

    def state_for(self, i: int) -> str:
        age = 1 - i / self.rows  # 0 = newest
        open_share = 0.6 if age < 0.04 else 0.02
        if self.rng.random() < open_share:
            return self.rng.choice(self.open_states)
        return self.closed

    def priority(self) -> int:
        return self.rng.choices((1, 2, 3, 4), weights=(5, 20, 50, 25))[0]

    def make(self, i: int, with_record: Callable[[str], bool]) -> tuple[dict[str, Any],
                                                                        list[dict[str, Any]]]:
        rng = self.rng
        state = self.state_for(i)
        snap = rng.choice(self.templates.by_state[state])
        rid = UUID(int=rng.getrandbits(128))
        customer = rng.choice(self.customers)
        engineer = rng.choice(self.engineers) if snap.engineer_id is not None else None
        priority = self.priority()
        registered = self.first + self.span * (i / self.rows) + timedelta(
            microseconds=rng.randrange(1_000_000)
        )
        shift = registered - snap.registered_at
        ids = {snap.request_id: rid}
        jobs = []
        for job in snap.doc["jobs"]:
            new_job_id = UUID(int=rng.getrandbits(128))
            ids[UUID(job["id"])] = new_job_id
            jobs.append({**job, "id": str(new_job_id), "engineer_id": str(engineer)})
        number = f"SR-{registered:%Y%m%d}-{i:08d}"
        records = []
        if with_record(state):
            for e in snap.full_record:
                records.append({
                    **e, "request_id": rid, "at": e["at"] + shift,
                    "subject_id": ids.get(e["subject_id"], e["subject_id"]),
                    "actor_id": engineer if e["actor_id"] == ENGINEER.id and engineer else
                    e["actor_id"],
                })
        # the document carries the same record as the record rows (none where none are
        # written: such requests are never loaded)
        doc_record = [
            {**{k: v for k, v in e.items() if k != "request_id"}, "at": _iso(e["at"]),
             "actor_id": str(e["actor_id"]), "subject_id": str(e["subject_id"])}
            for e in records
        ]
        doc = {
            **snap.doc, "id": str(rid), "number": number, "customer_id": str(customer),
            "priority": priority, "registered_at": _iso(registered), "jobs": jobs,
            "engineer_id": None if engineer is None else str(engineer), "record": doc_record,
        }
        row = {
            "id": rid, "number": number, "customer_id": customer, "equipment_id": None,
            "state": state, "priority": priority, "engineer_id": engineer,
            "registered_at": registered, "updated_at": snap.updated_at + shift,
            "version": snap.version, "doc": doc,
        }
        return row, records


def populate(
    target: Target, templates: Templates, rows: int, with_record: Callable[[str], bool],
    batch: int = 5000,
) -> tuple[float, int, RowMaker]:
    """Bulk insert ``rows`` requests with the bare driver's executemany, in batches, values
    encoded as the adapter's column types store them; (seconds, record rows, maker)."""
    maker = RowMaker(templates, rows)
    raw = RawWriter(target)
    uid, ts = raw.uid, raw.ts
    sqlite = target.kind == "sqlite"
    requests: list[tuple[Any, ...]] = []
    records: list[tuple[Any, ...]] = []
    record_rows = 0
    start = time.perf_counter()
    last_report = start
    conn = raw.conn
    try:
        for i in range(rows):
            row, entries = maker.make(i, with_record)
            requests.append((
                uid(row["id"]), row["number"], uid(row["customer_id"]), None, row["state"],
                row["priority"], uid(row["engineer_id"]), ts(row["registered_at"]),
                ts(row["updated_at"]), row["version"],
                json.dumps(row["doc"], ensure_ascii=False, separators=(",", ":")),
            ))
            records.extend(
                (uid(e["request_id"]), e["sequence"], ts(e["at"]), uid(e["actor_id"]),
                 e["workflow"], uid(e["subject_id"]), e["action"], e["from_state"],
                 e["to_state"], e["note"])
                for e in entries
            )
            if len(requests) >= batch or i == rows - 1:
                cur = conn.cursor()
                if sqlite:
                    cur.execute("BEGIN")
                cur.executemany(raw.insert_request, requests)
                if records:
                    cur.executemany(raw.insert_record, records)
                cur.execute("COMMIT") if sqlite else conn.commit()
                cur.close()
                record_rows += len(records)
                requests, records = [], []
                if time.perf_counter() - last_report > 30:
                    last_report = time.perf_counter()
                    print(f"    ... {i + 1:,} rows, {last_report - start:.0f} s", flush=True)
    finally:
        raw.close()
    return time.perf_counter() - start, record_rows, maker


def analyse(target: Target) -> None:
    """Refresh planner statistics (and the visibility map on PostgreSQL)."""
    if target.kind == "sqlite":
        with target.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        return
    with target.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("VACUUM ANALYZE service_requests")
        conn.exec_driver_sql("VACUUM ANALYZE request_record")


# --- part 2: loading everything ----------------------------------------------------------


def bench_load(target: Target, templates: Templates, rows: int) -> None:
    seconds, record_rows, _ = populate(target, templates, rows, lambda _state: True)
    print(f"  bulk insert: {rows:,} requests + {record_rows:,} record rows in {seconds:.1f} s "
          f"({rows / seconds:,.0f} requests/s)")
    analyse(target)
    store = SqlStore(target.engine)
    gc.collect()
    start = time.perf_counter()
    try:
        with store.unit_of_work() as uow:
            loaded = uow.requests.find()
        elapsed = time.perf_counter() - start
        print(f"  load all through uow.requests.find(): {len(loaded):,} requests in "
              f"{elapsed:.2f} s ({len(loaded) / elapsed:,.0f} requests/s)")
        del loaded
    except Exception as error:
        elapsed = time.perf_counter() - start
        print(f"  load all through uow.requests.find(): FAILED after {elapsed:.2f} s: "
              f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
        bench_load_by_customer(store, target)


def bench_load_by_customer(store: SqlStore, target: Target) -> None:
    """Fallback bulk path: every customer's requests, one find(customer_id=...) each, all in one
    unit of work (each call loads at most a few dozen requests)."""
    table = schema.service_requests
    with target.engine.connect() as conn:
        customers = conn.execute(sa.select(table.c.customer_id).distinct()).scalars().all()
    gc.collect()
    start = time.perf_counter()
    total = 0
    with store.unit_of_work() as uow:
        for customer_id in customers:
            total += len(uow.requests.find(customer_id=customer_id))
    elapsed = time.perf_counter() - start
    print(f"  load all through find(customer_id=...) per customer ({len(customers):,} calls): "
          f"{total:,} requests in {elapsed:.2f} s ({total / elapsed:,.0f} requests/s)")


# --- part 3: queries on a large table ----------------------------------------------------


@contextmanager
def statements(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    """Collect the SQL statements (and parameters) ``engine`` executes."""
    seen: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def _clip(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 4] + " ..."


def explain(target: Target, statement: str, parameters: Any) -> list[str]:
    prefix = "EXPLAIN QUERY PLAN " if target.kind == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    with target.engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
        conn.rollback()
    if target.kind == "sqlite":
        return [f"{row[-1]}" for row in rows]
    return [row[0] for row in rows]


def bench_queries(target: Target, templates: Templates, rows: int, runs: int,
                  records: str) -> None:
    def with_record(state: str) -> bool:
        return records == "all" or state != "closed"

    seconds, record_rows, maker = populate(target, templates, rows, with_record)
    print(f"  bulk insert: {rows:,} requests + {record_rows:,} record rows in {seconds:.1f} s "
          f"({rows / seconds:,.0f} requests/s), indexes in place")
    start = time.perf_counter()
    analyse(target)
    print(f"  {'VACUUM ' if target.kind == 'postgres' else ''}ANALYZE: "
          f"{time.perf_counter() - start:.1f} s")
    store = SqlStore(target.engine)
    table = schema.service_requests
    with target.engine.connect() as conn:
        by_state = dict(conn.execute(
            sa.select(table.c.state, sa.func.count()).group_by(table.c.state)
        ).all())
        # customers who have open requests (the realistic case for "my open requests")
        with_open = conn.execute(
            sa.select(table.c.customer_id).where(table.c.state.in_(maker.open_states))
            .group_by(table.c.customer_id).limit(1000)
        ).scalars().all()
    print("  rows by state: " + ", ".join(f"{s}={n:,}" for s, n in sorted(by_state.items())))
    rng = random.Random(11)
    open_states = [RequestState(s) for s in maker.open_states]
    busiest = max(open_states, key=lambda s: by_state.get(str(s), 0))
    queries: list[tuple[str, Callable[[Any], list[ServiceRequest]]]] = [
        ("open requests of a customer  find(customer_id=c, states=OPEN)",
         lambda uow: uow.requests.find(customer_id=rng.choice(with_open), states=open_states)),
        (f"by state and priority        find(states=[{busiest}], priority=P2, limit=50)",
         lambda uow: uow.requests.find(states=[busiest], priority=Priority.P2, limit=50)),
        ("by state and priority        find(states=[assigned, in_progress], priority=P1, "
         "limit=50)",
         lambda uow: uow.requests.find(
             states=[RequestState.ASSIGNED, RequestState.IN_PROGRESS], priority=Priority.P1,
             limit=50,
         )),
    ]
    if records == "all":
        queries.append((
            "closed, by state and priority find(states=[closed], priority=P3, limit=50)",
            lambda uow: uow.requests.find(
                states=[RequestState.CLOSED], priority=Priority.P3, limit=50),
        ))
    for label, query in queries:
        for _ in range(3):  # warm up
            with store.unit_of_work() as uow:
                query(uow)
        times, sizes = [], []
        for _ in range(runs):
            start = time.perf_counter()
            with store.unit_of_work() as uow:
                found = query(uow)
            times.append(time.perf_counter() - start)
            sizes.append(len(found))
        median = statistics.median(times) * 1e3
        verdict = "ok" if median < 10 else "MISSED"
        print(f"  {label}")
        print(f"      median {median:6.2f} ms over {runs} runs (min {min(times) * 1e3:.2f}, "
              f"max {max(times) * 1e3:.2f}); {statistics.median(sizes):.0f} requests returned;"
              f" target < 10 ms: {verdict}")
        with statements(target.engine) as seen, store.unit_of_work() as uow:
            query(uow)
        for statement, parameters in seen:
            if "FROM service_requests" not in statement and "FROM request_record" not in statement:
                continue
            first = " ".join(statement.split())
            print(f"      SQL: {first[:150]}{' ...' if len(first) > 150 else ''}")
            for line in explain(target, statement, parameters):
                print(f"        {_clip(line, 140)}")


# --- main --------------------------------------------------------------------------------


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--engines", default="sqlite,postgres",
                        help="comma-separated: sqlite, postgres (default: both)")
    parser.add_argument("--parts", default="commands,load,queries",
                        help="comma-separated: commands, load, queries (default: all)")
    parser.add_argument("--flows", default=",".join(LIFECYCLES),
                        help="lifecycles for part 1 and the data templates "
                        f"({', '.join(LIFECYCLES)}; default: all)")
    parser.add_argument("--lifecycles", type=int, default=20,
                        help="lifecycles of each flow per round in part 1 (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--load-rows", type=int, default=100_000,
                        help="requests to load in part 2 (default 100000)")
    parser.add_argument("--query-rows", type=int, default=1_000_000,
                        help="requests in the table for part 3 (default 1000000)")
    parser.add_argument("--query-engines", default="postgres,sqlite",
                        help="engines for part 3 (default postgres,sqlite)")
    parser.add_argument("--query-records", choices=("open", "all"), default="open",
                        help="R9 record rows in part 3 for open requests only, or for all")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per query (default 15)")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "AFTERSALES_BENCH_POSTGRES_URL",
        os.environ.get("AFTERSALES_TEST_POSTGRES_URL", DEFAULT_PG_URL)),
        help="server URL; a private schema is created in it and dropped afterwards")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> None:
    args = parse(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    parts = {p.strip() for p in args.parts.split(",")}
    flows = [LIFECYCLES[name.strip()] for name in args.flows.split(",") if name.strip()]
    query_engines = {e.strip() for e in args.query_engines.split(",")}
    if "postgres" in engines:
        reason = postgres_reachable(args.postgres_url)
        if reason is not None:
            print(f"PostgreSQL skipped: {reason}")
            engines.remove("postgres")
    templates = Templates.build(flows)
    total = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_sql_") as tmp, ExitStack():
        for kind in engines:
            if "commands" in parts:
                with fresh_target(kind, args, Path(tmp)) as target:
                    print(f"[{target.label}] 1. full lifecycles, one transaction per command")
                    bench_commands(target, flows, args.lifecycles, args.rounds)
            if "load" in parts:
                with fresh_target(kind, args, Path(tmp)) as target:
                    print(f"[{target.label}] 2. load {args.load_rows:,} stored requests")
                    bench_load(target, templates, args.load_rows)
            if "queries" in parts and kind in query_engines:
                with fresh_target(kind, args, Path(tmp)) as target:
                    print(f"[{target.label}] 3. queries on {args.query_rows:,} requests")
                    bench_queries(target, templates, args.query_rows, args.runs,
                                  args.query_records)
            sys.stdout.flush()
    print(f"total {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])

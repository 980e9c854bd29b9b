"""Benchmark: a full depot repair lifecycle through the SQL adapter on SQLite, against raw
DB-API replaying exactly the same statements.

Run: ``python benchmarks/bench_depot.py [N]``. A lifecycle is a service request handed to the
depot (register, assign, start remote work, hand to depot) and its repair order from intake to
closed (receive, sign intake, diagnose, estimate, customer approval, repair, additional work
with new consent, QC, ready, settle, deliver, close): one transaction per command through
:class:`ServiceDesk` and :class:`RepairDesk` on :class:`SqlStore`.

The baseline is honest by construction: one lifecycle is run through the adapter with every
statement it sends to ``sqlite3`` captured (reads, writes, BEGIN/COMMIT/ROLLBACK, with the
parameters exactly as bound). The raw side then replays those statements on a bare
``sqlite3`` connection, N times, with every id, number and derived event id replaced by fresh
ones (prepared before timing starts). So both sides do the same database work; the ratio is
what the domain, the workflows, authorization, serialization and SQLAlchemy cost on top.
Rounds are interleaved and the best of each kept; compare the ratio, not absolute rates.
Target (issue 5): report the ratio; the SQLite per-command target of the SQL adapter is <= 3x.
"""

from __future__ import annotations

import gc
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from aftersales import Actor, ManualClock, Money, RepairDesk, Role, ServiceDesk
from aftersales.adapters.sql import SqlStore, create_engine, upgrade
from aftersales.domain.events import event_id_for
from aftersales.domain.parts import PartOrigin, PartSource
from aftersales.domain.repair import (
    DataHandling,
    EstimateBasis,
    EstimateLine,
    FaultClass,
    FaultKind,
    Intake,
    LineKind,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class RecordingIds:
    """Random ids and numbers that remember what they handed out (to swap them on replay)."""

    def __init__(self) -> None:
        self.ids: list[UUID] = []
        self.numbers: list[str] = []
        self.counter = 0

    def new_id(self) -> UUID:
        value = uuid.uuid4()
        self.ids.append(value)
        return value

    def service_number(self, at: datetime) -> str:
        self.counter += 1
        number = f"SR-{at:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"
        self.numbers.append(number)
        return number


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


class World:
    """A desk on a fresh SQLite file with the people, a customer and a unit."""

    def __init__(self, path: Path) -> None:
        self.engine = create_engine(path)
        upgrade(self.engine)
        store = SqlStore(self.engine)
        self.clock = ManualClock(T0, step=timedelta(seconds=30))
        self.ids = RecordingIds()
        self.desk = ServiceDesk(store.unit_of_work, clock=self.clock, ids=self.ids)
        self.repairs = RepairDesk(self.desk)
        self.boss = Actor(UUID(int=1), "boss", {Role.SUPERVISOR})
        with store.unit_of_work() as uow:
            uow.actors.add(self.boss)
            uow.commit()
        desk = self.desk
        self.clerk = desk.register_actor(self.boss, name="clerk", roles={Role.CLERK})
        self.engineer = desk.register_actor(self.boss, name="engineer", roles={Role.ENGINEER})
        self.customer = desk.register_customer(self.clerk, name="ACME 有限公司")
        self.owner = desk.register_actor(self.boss, name="Mr Zhao", roles={Role.CUSTOMER},
                                         customer_id=self.customer.id)
        self.serial = 0

    def new_unit(self) -> UUID:
        self.serial += 1
        unit = self.desk.register_equipment(
            self.clerk, serial=f"LT-{self.serial}", model="ThinkPad T14",
            owner_id=self.customer.id, installed_on=date(2023, 1, 10),  # out of warranty
        )
        return unit.id

    def lifecycle(self, unit_id: UUID) -> int:
        """One full depot lifecycle on ``unit_id``; returns the number of commands."""
        desk, repairs, clerk, eng, owner = (
            self.desk, self.repairs, self.clerk, self.engineer, self.owner
        )
        r = desk.register_request(clerk, customer_id=self.customer.id, equipment_id=unit_id,
                                  summary="笔记本无法开机 no power")
        desk.assign(clerk, r.id, engineer_id=eng.id)
        desk.start_remote(eng, r.id)
        desk.hand_to_depot(eng, r.id, reason="mainboard")
        o = repairs.receive_at_depot(
            clerk, r.id, promised_at=self.clock.now() + timedelta(days=3),
            intake=Intake(appearance="scratched lid", configuration="i5/16G/512G",
                          accessories=("charger",), data_handling=DataHandling.WIPE_ALLOWED),
        )
        repairs.sign_intake(clerk, o.id, signed_by="Mr Zhao")
        repairs.diagnose(eng, o.id, fault="no power", cause="regulator",
                         fault_class=FaultClass.QUALITY, fault_kind=FaultKind.HARDWARE)
        repairs.send_estimate(eng, o.id, lines=[
            EstimateLine(EstimateBasis.SYMPTOM, "no power", "replace regulator",
                         LineKind.LABOUR, cny("150")),
            EstimateLine(EstimateBasis.ITEM, "mainboard", "regulator", LineKind.PART,
                         cny("300"), source=PartSource.OURS, origin=PartOrigin.OEM),
        ])
        repairs.approve_estimate(owner, o.id)
        repairs.start_repair(eng, o.id)
        repairs.record_repair_work(eng, o.id, description="regulator replaced")
        repairs.propose_additional_work(
            eng, o.id, reason="hinge cracked", new_promised_at=self.clock.now() + timedelta(days=4),
            lines=[EstimateLine(EstimateBasis.ITEM, "hinge", "replace hinge", LineKind.PART,
                                cny("80"), source=PartSource.OURS, origin=PartOrigin.OEM)],
        )
        repairs.approve_additional_work(owner, o.id)
        repairs.finish_repair(eng, o.id, summary="done")
        order = repairs.record_qc(eng, o.id,
                                  results=dict.fromkeys(repairs.policy.qc_checklist, True))
        repairs.mark_ready(clerk, o.id, pickup_at=self.clock.now() + timedelta(hours=5))
        self.clock.advance(timedelta(hours=5))
        repairs.settle(clerk, o.id, amount=order.amount_due())
        repairs.deliver(clerk, o.id, signed_by="Mr Zhao")
        repairs.close_order(clerk, o.id)
        return 19


Statement = tuple[str, Any, bool]  # (sql or marker, parameters, executemany)


def capture(world: World, unit_id: UUID) -> tuple[list[Statement], list[UUID], list[str]]:
    """Run one lifecycle and record every statement the adapter sends to sqlite3."""
    log: list[Statement] = []

    def on_execute(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any,
                   many: bool) -> None:
        log.append((statement, params, many))

    def on_commit(_c: Any) -> None:
        log.append(("COMMIT", None, False))

    def on_rollback(_c: Any) -> None:
        log.append(("ROLLBACK", None, False))

    first_id, first_number = len(world.ids.ids), len(world.ids.numbers)
    sa.event.listen(world.engine, "before_cursor_execute", on_execute)
    sa.event.listen(world.engine, "commit", on_commit)
    sa.event.listen(world.engine, "rollback", on_rollback)
    try:
        world.lifecycle(unit_id)
    finally:
        sa.event.remove(world.engine, "before_cursor_execute", on_execute)
        sa.event.remove(world.engine, "commit", on_commit)
        sa.event.remove(world.engine, "rollback", on_rollback)
    return log, world.ids.ids[first_id:], world.ids.numbers[first_number:]


def _substitute(value: Any, swaps: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for old, new in swaps:
            if old in value:
                value = value.replace(old, new)
        return value
    if isinstance(value, tuple | list):
        return type(value)(_substitute(v, swaps) for v in value)
    if isinstance(value, dict):
        return {k: _substitute(v, swaps) for k, v in value.items()}
    return value


def replay_scripts(
    log: list[Statement], ids: list[UUID], numbers: list[str], unit_id: UUID, n: int,
) -> list[list[Statement]]:
    """``n`` copies of ``log`` with every id, number and derived event id made fresh."""
    scripts: list[list[Statement]] = []
    for _ in range(n):
        mapping = {old: uuid.uuid4() for old in (*ids, unit_id)}
        swaps: list[tuple[str, str]] = []
        for old, new in mapping.items():
            for seq in range(1, 64):  # event ids are uuid5(aggregate id, sequence)
                a, b = event_id_for(old, seq), event_id_for(new, seq)
                swaps += [(a.hex, b.hex), (str(a), str(b))]
            swaps += [(old.hex, new.hex), (str(old), str(new))]
        for number in numbers:
            fresh = f"{number[:-8]}{uuid.uuid4().hex[:8].upper()}"
            swaps.append((number.split("-", 1)[1], fresh.split("-", 1)[1]))
        scripts.append([(sql, _substitute(p, swaps), many) for sql, p, many in log])
    return scripts


def raw_replay(path: Path, scripts: list[list[Statement]]) -> float:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    cur = conn.cursor()
    start = time.perf_counter()
    for script in scripts:
        for sql, params, many in script:
            if sql == "COMMIT":
                cur.execute("COMMIT")
            elif sql == "ROLLBACK":
                if conn.in_transaction:
                    cur.execute("ROLLBACK")
            elif many:
                cur.executemany(sql, params)
            else:
                cur.execute(sql, params or ())
                cur.fetchall()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def adapter_run(world: World, units: list[UUID]) -> tuple[float, int]:
    commands = 0
    start = time.perf_counter()
    for unit_id in units:
        commands += world.lifecycle(unit_id)
    return time.perf_counter() - start, commands


def _best(results: list[float]) -> float:
    return min(results)


def main(argv: list[str]) -> dict[str, float]:
    n = int(argv[1]) if len(argv) > 1 else 20
    rounds = 3
    with tempfile.TemporaryDirectory() as tmp:
        world = World(Path(tmp) / "depot.db")
        warm = world.new_unit()
        world.lifecycle(warm)  # warm caches (compiled statements, converters)
        probe = world.new_unit()
        log, ids, numbers = capture(world, probe)
        statements = sum(1 for sql, _, _ in log if sql not in ("COMMIT", "ROLLBACK"))
        commits = sum(1 for sql, _, _ in log if sql == "COMMIT")
        adapter_times: list[float] = []
        raw_times: list[float] = []
        commands = 19
        for _ in range(rounds):
            units = [world.new_unit() for _ in range(n)]
            gc.collect()
            seconds, count = adapter_run(world, units)
            adapter_times.append(seconds)
            commands = count
            scripts = replay_scripts(log, ids, numbers, probe, n)
            gc.collect()
            raw_times.append(raw_replay(Path(tmp) / "depot.db", scripts))
        world.engine.dispose()
    adapter_s, raw_s = _best(adapter_times), _best(raw_times)
    per_cmd = adapter_s / commands * 1e6
    per_raw = raw_s / commands * 1e6
    print(f"depot lifecycles on SQLite: {n} x {commands // n} commands "
          f"({statements} statements, {commits} commits per lifecycle, replayed raw)")
    print(f"adapter (RepairDesk + SqlStore): {commands / adapter_s:8,.0f} commands/s  "
          f"{per_cmd:8.1f} us/command")
    print(f"raw sqlite3, same statements   : {commands / raw_s:8,.0f} commands/s  "
          f"{per_raw:8.1f} us/command")
    ratio = adapter_s / raw_s
    print(f"ratio adapter / raw: {ratio:5.2f}x  (SQLite target for the SQL adapter <= 3x)")
    return {"ratio": ratio, "per_cmd_us": per_cmd}


if __name__ == "__main__":
    main(sys.argv)

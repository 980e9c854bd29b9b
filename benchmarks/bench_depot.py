"""Benchmark: a full depot repair lifecycle through the SQL adapter, against the bare driver
replaying exactly the statements the adapter sent for it.

Run: ``python benchmarks/bench_depot.py [--quick] [--lifecycles N] [--rounds R]
[--engines sqlite,postgres]`` (SQLite only by default).

A lifecycle is 20 commands, one transaction each, through :class:`~aftersales.ServiceDesk`
and :class:`~aftersales.RepairDesk` on :class:`~aftersales.adapters.sql.SqlStore`: register
the unit (out of warranty), a service request handed to the depot (register, assign, start
remote work, hand to depot), then its repair order from intake to closed (receive, sign the
intake, diagnose, estimate, the customer's approval, start, record the work, additional work
with new consent, finish, QC, ready, settle, deliver, close).

The baseline is honest by construction (see ``_harness.py``): the same lifecycles run on a
twin database with every statement the adapter sends captured (reads, writes, BEGIN, COMMIT
and ROLLBACK, with the parameters exactly as bound), and the raw side replays that script on a
third twin with ``sqlite3`` (or ``psycopg``): the same statements, the same durability
settings, every result fetched and its JSON documents decoded, every write's row count checked
against the adapter's. The ratio is what the domain, the workflows, authorization,
serialization and SQLAlchemy cost on top of the same database work.

Verdict: adapter / raw, min over min and median over median of the rounds, against the
no-regression bound (4.5x) and the issue 9 target (2x).
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from _harness import (
    Database,
    clock_name,
    compare,
    count_statements,
    judge,
    mirrored,
    postgres_reachable,
    postgres_url,
    profile,
    summary,
)
from aftersales import (
    Actor,
    ManualClock,
    Money,
    RepairDesk,
    Role,
    SequentialIds,
    ServiceDesk,
    enroll_first_supervisor,
)
from aftersales.adapters.sql import SqlStore
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
BOSS = Actor(UUID(int=1), "boss", frozenset({Role.SUPERVISOR}))
#: Commands of one lifecycle.
COMMANDS = 20
#: (no regression, issue 9 target) of adapter / raw.
BOUND, TARGET = 4.5, 2.0


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


@dataclass
class World:
    """A desk on one database with the people and a customer, built deterministically."""

    clock: ManualClock
    desk: ServiceDesk
    repairs: RepairDesk
    clerk: UUID
    engineer: UUID
    owner: UUID
    customer: UUID
    serial: int = 0


def build_world(db: Database) -> World:
    clock = ManualClock(T0, step=timedelta(seconds=30))
    store = SqlStore(db.engine, clock=clock)
    enroll_first_supervisor(store.unit_of_work, actor_id=BOSS.id, name=BOSS.name, at=T0,
                            roles=BOSS.roles)
    desk = ServiceDesk(store.unit_of_work, clock=clock, ids=SequentialIds(start=100),
                       kinds=store.kinds)
    clerk = desk.register_actor(BOSS.id, name="clerk", roles={Role.CLERK})
    engineer = desk.register_actor(BOSS.id, name="engineer", roles={Role.ENGINEER})
    customer = desk.register_customer(clerk.id, name="ACME 有限公司")
    owner = desk.register_actor(BOSS.id, name="Mr Zhao", roles={Role.CUSTOMER},
                                customer_id=customer.id)
    return World(clock, desk, RepairDesk(desk), clerk.id, engineer.id, owner.id, customer.id)


def lifecycle(world: World) -> int:
    """One full depot lifecycle on a new unit; returns the number of commands."""
    desk, repairs, clock = world.desk, world.repairs, world.clock
    clerk, eng, owner = world.clerk, world.engineer, world.owner
    world.serial += 1
    unit = desk.register_equipment(
        clerk, serial=f"LT-{world.serial}", model="ThinkPad T14", owner_id=world.customer,
        installed_on=date(2023, 1, 10),  # out of warranty
    )
    r = desk.register_request(clerk, customer_id=world.customer, equipment_id=unit.id,
                              summary="笔记本无法开机 no power")
    desk.assign(clerk, r.id, engineer_id=eng)
    desk.start_remote(eng, r.id)
    desk.hand_to_depot(eng, r.id, reason="mainboard")
    o = repairs.receive_at_depot(
        clerk, r.id, promised_at=clock.now() + timedelta(days=3),
        intake=Intake(appearance="scratched lid", configuration="i5/16G/512G",
                      accessories=("charger",), data_handling=DataHandling.WIPE_ALLOWED),
    )
    repairs.sign_intake(clerk, o.id, signed_by="Mr Zhao")
    repairs.diagnose(eng, o.id, fault="no power", cause="regulator", fault_code="HW-POWER",
                     fault_class=FaultClass.QUALITY, fault_kind=FaultKind.HARDWARE)
    repairs.send_estimate(eng, o.id, lines=[
        EstimateLine(EstimateBasis.SYMPTOM, "no power", "replace regulator", LineKind.LABOUR,
                     cny("150")),
        EstimateLine(EstimateBasis.ITEM, "mainboard", "regulator", LineKind.PART, cny("300"),
                     source=PartSource.OURS, origin=PartOrigin.OEM),
    ])
    repairs.approve_estimate(owner, o.id)
    repairs.start_repair(eng, o.id)
    repairs.record_repair_work(eng, o.id, description="regulator replaced")
    repairs.propose_additional_work(
        eng, o.id, reason="hinge cracked", new_promised_at=clock.now() + timedelta(days=4),
        lines=[EstimateLine(EstimateBasis.ITEM, "hinge", "replace hinge", LineKind.PART,
                            cny("80"), source=PartSource.OURS, origin=PartOrigin.OEM)],
    )
    repairs.approve_additional_work(owner, o.id)
    repairs.finish_repair(eng, o.id, summary="done")
    order = repairs.record_qc(eng, o.id, results=dict.fromkeys(repairs.policy.qc_checklist, True))
    repairs.mark_ready(clerk, o.id, pickup_at=clock.now() + timedelta(hours=5))
    clock.advance(timedelta(hours=5))
    repairs.settle(clerk, o.id, amount=order.amount_due())
    repairs.deliver(clerk, o.id, signed_by="Mr Zhao")
    closed = repairs.close_order(clerk, o.id)
    if closed.state != "closed":
        raise RuntimeError(f"the order ended {closed.state}, not closed")
    return COMMANDS


def lifecycles(n: int) -> Callable[[World], int]:
    """The work of one round: ``n`` lifecycles."""

    def work(world: World) -> int:
        return sum(lifecycle(world) for _ in range(n))

    return work


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (under a minute); indicative only")
    parser.add_argument("--lifecycles", type=int, default=None,
                        help="lifecycles per round (default 20; --quick 4)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds (default 7; --quick 5; at least 5)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one round of the adapter (cProfile)")
    parser.add_argument("--engines", default="sqlite",
                        help="comma-separated: sqlite, postgres (default sqlite)")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> dict[str, float]:
    args = parse(argv)
    n = args.lifecycles or (4 if args.quick else 20)
    rounds = max(5, args.rounds or (5 if args.quick else 7))
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if "postgres" in engines:
        reason = postgres_reachable(postgres_url())
        if reason is not None:
            print(f"PostgreSQL skipped: {reason}")
            engines.remove("postgres")
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench_depot_") as tmp:
        for kind in engines:
            with mirrored(kind, Path(tmp), build_world) as (mirror, db):
                print(f"[{db.label}] depot lifecycles: {n} x {COMMANDS} commands per round, "
                      f"{rounds} rounds, {clock_name(kind)}")
                work = lifecycles(1)
                adapter, raw = compare(mirror, work, n, rounds, "RepairDesk + SqlStore",
                                       "raw driver, same statements")
                statements, commits = count_statements(mirror.last_script)
                print(f"  per lifecycle: {statements} statements, {commits} commits")
                print(f"  {adapter.line('command')}")
                print(f"  {raw.line('command')}")
                name = "SQLite" if kind == "sqlite" else "PostgreSQL"
                verdict = judge(f"{name} depot lifecycle / raw replay", adapter, raw,
                                bound=BOUND, target=TARGET)
                results[f"{kind}_ratio_min"] = verdict.best
                if args.profile:
                    profile(f"the adapter, {n} lifecycles on {name}",
                            functools.partial(mirror.time_adapter, lifecycles(n)))
    summary(args.quick)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])

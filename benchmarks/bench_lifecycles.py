"""Benchmark: full request lifecycles through the service layer on the in-memory adapter,
against the same transitions on a bare ``transitions`` machine.

Run: ``python benchmarks/bench_lifecycles.py [--quick] [--cpu] [--lifecycles N] [--rounds R]``
(``--cpu``: time by this process's CPU time, for a shared machine; ``--profile``: where the
time goes).

One round runs N remote and N on-site lifecycles (7 + 13 = 20 commands per pair) on each
side, interleaved:

- **service layer**: :func:`aftersales.in_memory_desk` (a fresh store per round), every
  command through the one runner: the actor from the directory, the unit of work, the step,
  authorization, the commit of the working copies, events;
- **domain steps only**: the same steps of :mod:`aftersales.workflows.steps` called on the
  :class:`~aftersales.domain.request.ServiceRequest` directly (the workflows, the record and
  the events, no unit of work, no runner), to show which layer the time goes to;
- **bare trigger**: the same triggers on bare ``transitions`` machines built from the same
  workflow definitions, on plain objects holding a state string;
- **dict lookup**: the same transitions as lookups in a plain dict (the floor).

Verdict: the ratio command / bare trigger, min over min and median over median of the
rounds, against the no-regression bound of issue 8 (3.8x) and the target of issue 9 (2.5x).
Then the time to register 10k and 100k requests (1k and 10k with ``--quick``), which must grow
linearly. Ratios, not absolute times, are what to compare across machines.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from transitions import Machine

from _harness import clock, clock_name, judge, profile, summary, time_rounds, use_cpu_time
from aftersales import (
    Actor,
    Category,
    Channel,
    Impact,
    ManualClock,
    PriorityMatrix,
    Role,
    SequentialIds,
    ServiceDesk,
    Urgency,
    in_memory_desk,
)
from aftersales.workflows import ONSITE, REMOTE, REQUEST, steps

REMOTE_SCRIPT = [
    ("request", "assign"), ("request", "start"), ("remote", "record_contact"),
    ("remote", "resolve"), ("request", "resolve"), ("request", "confirm"), ("request", "close"),
]
ONSITE_SCRIPT = [
    ("request", "assign"), ("request", "start"), ("onsite", "confirm_need"),
    ("onsite", "approve"), ("onsite", "prepare"), ("onsite", "depart"), ("onsite", "arrive"),
    ("onsite", "record_work"), ("onsite", "sign_off"), ("request", "resolve"),
    ("request", "confirm"), ("request", "close"),
]
#: Commands of one remote + one on-site lifecycle (the register commands included).
COMMANDS_PER_PAIR = 20
#: Triggers of the same pair (registration is no transition).
TRIGGERS_PER_PAIR = len(REMOTE_SCRIPT) + len(ONSITE_SCRIPT)

T0 = datetime(2026, 11, 23, tzinfo=UTC)
BOSS = Actor(UUID(int=1), "boss", frozenset({Role.SUPERVISOR, Role.CLERK}))


# --- the service layer -----------------------------------------------------------------------


def _setup() -> tuple[ServiceDesk, UUID, UUID]:
    """A desk on a fresh in-memory store; (desk, engineer id, customer id)."""
    manual = ManualClock(T0, step=timedelta(seconds=1))
    desk, _store = in_memory_desk(supervisor=BOSS, clock=manual, ids=SequentialIds(start=100))
    engineer = desk.register_actor(BOSS, name="eng", roles={Role.ENGINEER})
    customer = desk.register_customer(BOSS, name="ACME")
    return desk, engineer.id, customer.id


def service_layer(n: int) -> tuple[float, int]:
    """n remote + n on-site lifecycles through the desk; (seconds, commands)."""
    desk, eng, customer_id = _setup()
    boss = BOSS.id
    tick = clock("memory")
    start = tick()
    for _ in range(n):
        r = desk.register_request(boss, customer_id=customer_id, summary="remote")
        desk.assign(boss, r.id, engineer_id=eng)
        desk.start_remote(eng, r.id)
        desk.record_contact(eng, r.id, channel=Channel.PHONE, summary="called")
        desk.resolve(eng, r.id, resolution="fixed")
        desk.confirm(boss, r.id)
        desk.close(boss, r.id)
        s = desk.register_request(boss, customer_id=customer_id, summary="onsite")
        desk.assign(boss, s.id, engineer_id=eng)
        desk.start_onsite(eng, s.id)
        desk.confirm_need(eng, s.id)
        desk.approve_dispatch(boss, s.id)
        desk.prepare(eng, s.id)
        desk.depart(eng, s.id)
        desk.record_arrival(eng, s.id)
        desk.record_work(eng, s.id, description="work")
        desk.sign_off(eng, s.id, found="f", result="r", signed_by="customer")
        desk.resolve(eng, s.id, resolution="fixed")
        desk.confirm(boss, s.id)
        closed = desk.close(boss, s.id)
    if n and closed.state != "closed":
        raise RuntimeError("the on-site lifecycle did not close")
    return tick() - start, n * COMMANDS_PER_PAIR


# --- the domain steps alone ------------------------------------------------------------------


def domain_steps(n: int) -> tuple[float, int]:
    """The same steps on the aggregate itself (no unit of work, no runner); (seconds,
    commands)."""
    engineer = Actor(UUID(int=2), "eng", frozenset({Role.ENGINEER}))
    customer_id = UUID(int=3)
    matrix = PriorityMatrix()
    ids = SequentialIds(start=100)
    now = ManualClock(T0, step=timedelta(seconds=1)).now
    boss = BOSS

    def register(summary: str) -> Any:
        at = now()
        return steps.register(
            request_id=ids.new_id(), number=ids.number("SR", at), customer_id=customer_id,
            category=Category.FAULT, channel=Channel.PHONE, impact=Impact.MODERATE,
            urgency=Urgency.MEDIUM, summary=summary, actor=boss, at=at, matrix=matrix,
        )

    tick = clock("memory")
    start = tick()
    for _ in range(n):
        r = register("remote")
        steps.assign(r, engineer_id=engineer.id, actor=boss, at=now())
        steps.start_remote(r, job_id=ids.new_id(), actor=engineer, at=now())
        steps.record_contact(r, channel=Channel.PHONE, summary="called", actor=engineer,
                             at=now())
        steps.resolve(r, resolution="fixed", actor=engineer, at=now())
        steps.confirm(r, actor=boss, at=now())
        steps.close(r, actor=boss, at=now())
        s = register("onsite")
        steps.assign(s, engineer_id=engineer.id, actor=boss, at=now())
        steps.start_onsite(s, job_id=ids.new_id(), actor=engineer, at=now())
        steps.confirm_need(s, actor=engineer, at=now())
        steps.approve_dispatch(s, actor=boss, at=now())
        steps.prepare(s, actor=engineer, at=now())
        steps.depart(s, actor=engineer, at=now())
        steps.record_arrival(s, actor=engineer, at=now())
        steps.record_work(s, description="work", actor=engineer, at=now())
        steps.sign_off(s, found="f", result="r", signed_by="customer", actor=engineer,
                       at=now())
        steps.resolve(s, resolution="fixed", actor=engineer, at=now())
        steps.confirm(s, actor=boss, at=now())
        steps.close(s, actor=boss, at=now())
        if s.state != "closed":
            raise RuntimeError("the on-site lifecycle did not close")
    return tick() - start, n * COMMANDS_PER_PAIR


# --- bare machines ---------------------------------------------------------------------------


class _Obj:
    __slots__ = ("current_job_succeeded", "onsite_approvals_recorded", "state")

    def __init__(self, state: str) -> None:
        self.state = state
        self.current_job_succeeded = True
        self.onsite_approvals_recorded = True


def _machines() -> dict[str, Any]:
    machines = {}
    for d in (REQUEST, REMOTE, ONSITE):
        machines[d.name] = Machine(
            model=None, states=list(d.states), initial=d.initial, auto_transitions=False,
            transitions=[{"trigger": t.trigger, "source": list(t.sources), "dest": t.dest,
                          "conditions": list(t.conditions)} for t in d.transitions],
        )
    return {name: m.events for name, m in machines.items()}


EVENTS = _machines()


def bare_transitions(n: int) -> tuple[float, int]:
    """The same triggers on bare module-level machines (string states, no adapters)."""
    events = EVENTS
    tick = clock("memory")
    start = tick()
    for _ in range(n):
        for script in (REMOTE_SCRIPT, ONSITE_SCRIPT):
            objs = {"request": _Obj("registered"), "remote": _Obj("working"),
                    "onsite": _Obj("planned")}
            for flow, trigger in script:
                if not events[flow][trigger].trigger(objs[flow]):
                    raise RuntimeError(f"{flow}.{trigger} refused")
    return tick() - start, n * TRIGGERS_PER_PAIR


def dict_table(n: int) -> tuple[float, int]:
    """The same transitions as lookups in a plain dict."""
    table = {(d.name, s, t.trigger): t.dest for d in (REQUEST, REMOTE, ONSITE)
             for s, _, t in d.edges()}
    tick = clock("memory")
    start = tick()
    for _ in range(n):
        for script in (REMOTE_SCRIPT, ONSITE_SCRIPT):
            states = {"request": "registered", "remote": "working", "onsite": "planned"}
            for flow, trigger in script:
                states[flow] = table[(flow, states[flow], trigger)]
    return tick() - start, n * TRIGGERS_PER_PAIR


# --- bulk registration -----------------------------------------------------------------------


def create_requests(count: int) -> float:
    """Seconds to register ``count`` requests through the service layer."""
    desk, _, customer_id = _setup()
    boss = BOSS.id
    gc.collect()
    tick = clock("memory")
    start = tick()
    for _ in range(count):
        desk.register_request(boss, customer_id=customer_id, summary="bulk")
    return tick() - start


# --- main ------------------------------------------------------------------------------------


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (under a minute); indicative only")
    parser.add_argument("--lifecycles", type=int, default=None,
                        help="remote + on-site pairs per round (default 300; --quick 40)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved rounds (default 7; --quick 5; at least 5)")
    parser.add_argument("--cpu", action="store_true",
                        help="time by this process's CPU time, not the wall clock (for a "
                        "shared machine)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one round of the service layer (cProfile)")
    parser.add_argument("--bulk", default=None,
                        help="comma-separated request counts to register "
                        "(default 10000,100000; --quick 1000,10000)")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> dict[str, float]:
    args = parse(argv)
    use_cpu_time(args.cpu)
    n = args.lifecycles or (40 if args.quick else 300)
    rounds = max(5, args.rounds or (5 if args.quick else 7))
    bulk = [int(x) for x in (args.bulk or ("1000,10000" if args.quick else "10000,100000"))
            .split(",") if x.strip()]
    print(f"in-memory lifecycles: {n} remote + {n} on-site per round "
          f"({n * COMMANDS_PER_PAIR:,} commands, {n * TRIGGERS_PER_PAIR:,} triggers), "
          f"{rounds} interleaved rounds, {clock_name('memory')}")
    service_layer(2)  # warm up (imports, converters, caches)
    svc, dom, bare, lookup = time_rounds([
        ("service layer command, in-memory", lambda: service_layer(n)),
        ("domain step only (no unit of work)", lambda: domain_steps(n)),
        ("bare transitions trigger", lambda: bare_transitions(n)),
        ("plain dict lookup", lambda: dict_table(n)),
    ], rounds)
    for s, unit in ((svc, "command"), (dom, "command"), (bare, "trigger"), (lookup, "lookup")):
        print(f"  {s.line(unit)}")
    verdict = judge("in-memory command / bare transitions trigger", svc, bare,
                    bound=3.8, target=2.5)
    print(f"  (for the breakdown) domain step / bare trigger: {dom.min / bare.min:.2f}x min, "
          f"{dom.median / bare.median:.2f}x median; command / domain step: "
          f"{svc.min / dom.min:.2f}x min; command / dict lookup: {svc.min / lookup.min:.0f}x")
    if args.profile:
        profile("the service layer, one round", lambda: service_layer(n))
        profile("the domain steps only, one round", lambda: domain_steps(n))
    results: dict[str, float] = {
        "ratio_min": verdict.best, "ratio_median": verdict.typical,
        "command_us_min": svc.min * 1e6,
    }
    print("bulk registration through the service layer (one store):")
    times = []
    for count in bulk:
        seconds = create_requests(count)
        times.append((count, seconds))
        print(f"  register {count:>9,} requests: {seconds:7.2f} s  "
              f"({seconds / count * 1e6:6.1f} us each)")
    if len(times) >= 2:
        (c1, s1), (c2, s2) = times[0], times[-1]
        growth = (s2 / c2) / (s1 / c1)
        print(f"  cost per request at {c2:,} / at {c1:,}: {growth:.2f}x (linear growth = 1x)")
        results["growth_per_request"] = growth
    summary(args.quick)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])

"""Mutation testing of the rule book's numbers and boundaries, one mutant at a time.

``mutmut run`` (configured in ``pyproject.toml``, see docs/mutation.md) mutates the code inside
functions and methods. It never touches what sits outside them: module-level tables (R8's
``DEFAULT_PRIORITY_TABLE``) and class-level defaults (``RepairPolicy.long_job_threshold = 2
days``, ``WarrantyPolicy.period_months = 12`` ...), which are exactly the numbers of
DOMAIN.md. This runner covers them, and it runs a fixed set of named boundary mutants against
any test selection (how docs/mutation.md measures the shipped stateful kit).

Each mutant replaces one exact piece of source text (it must occur exactly once in its file).
The runner copies ``src/``, ``tests/`` and the project files into a temporary directory, applies
the mutant there, and runs ``python -m pytest -x -q -p no:cacheprovider <tests>`` in that
directory with the copy first on ``PYTHONPATH`` (so it shadows the editable install). A test
failure kills the mutant, a green run means it survived, and a run past the timeout is reported
as ``timeout`` (counted as killed, like mutmut does: usually an endless loop, but for Hypothesis
tests possibly a slow search, so raise ``--timeout`` until the verdict is clear). Before any
mutant, the same selection must pass on the unmutated copy, and the copy must be the code
imported.

    python tools/mutate.py list [--set defaults|boundaries|all]
    python tools/mutate.py show NAME
    python tools/mutate.py run --set defaults [--only NAME ...] [-j 2] [--json out.json] \\
        [-- PYTEST ARGS (default: tests/unit)]
    python tools/mutate.py run --set boundaries -- tests/test_stateful_flows.py \\
        tests/test_stateful_repairs.py

The exit status is 0 when every mutant run was killed, 1 when one survived, 2 on a setup error.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "src/aftersales"
COPIED = ("src", "tests", "pyproject.toml", "README.md", "docs")


@dataclass(frozen=True)
class Mutant:
    """One replacement of ``old`` by ``new`` in ``path`` (relative to the project root)."""

    name: str
    rule: str
    path: str
    old: str
    new: str
    why: str

    def apply(self, root: Path) -> None:
        target = root / self.path
        text = target.read_text(encoding="utf-8")
        count = text.count(self.old)
        if count != 1:
            raise SystemExit(f"{self.name}: {self.old!r} occurs {count} times in {self.path}")
        target.write_text(text.replace(self.old, self.new), encoding="utf-8")

    def diff(self) -> str:
        text = (ROOT / self.path).read_text(encoding="utf-8")
        mutated = text.replace(self.old, self.new)
        return "".join(difflib.unified_diff(
            text.splitlines(keepends=True), mutated.splitlines(keepends=True),
            f"a/{self.path}", f"b/{self.path}", n=1,
        ))


# --- the mutants -----------------------------------------------------------------------------

_PRIORITY = f"{PACKAGE}/domain/priority.py"
_REPAIR_POLICY = f"{PACKAGE}/domain/repair_policy.py"
_WARRANTY = f"{PACKAGE}/domain/warranty.py"

_NEXT_PRIORITY = {"P1": "P2", "P2": "P3", "P3": "P4", "P4": "P3"}


def _priority_cells() -> Iterator[Mutant]:
    """R8: every cell of the default matrix moved to a neighbouring priority."""
    for impact in ("EXTENSIVE", "SIGNIFICANT", "MODERATE", "MINOR"):
        for urgency in ("HIGH", "MEDIUM", "LOW"):
            key = f"(Impact.{impact}, Urgency.{urgency}): Priority."
            text = (ROOT / _PRIORITY).read_text(encoding="utf-8")
            start = text.find(key)
            if start < 0:
                raise SystemExit(f"R8 cell {impact}×{urgency} not found in {_PRIORITY}")
            now = text[start + len(key): start + len(key) + 2]
            yield Mutant(
                f"r8-cell-{impact.lower()}-{urgency.lower()}", "R8", _PRIORITY,
                f"{key}{now},", f"{key}{_NEXT_PRIORITY[now]},",
                f"the default matrix gives {impact.lower()}×{urgency.lower()} "
                f"{_NEXT_PRIORITY[now]} instead of {now}",
            )


def _default(name: str, rule: str, path: str, old: str, new: str, why: str) -> Mutant:
    return Mutant(name, rule, path, old, new, why)


DEFAULTS: tuple[Mutant, ...] = (
    *_priority_cells(),
    _default("r20-period-13", "R20", _WARRANTY, "period_months: int = 12",
             "period_months: int = 13", "12 months of coverage become 13"),
    _default("r20-period-11", "R20", _WARRANTY, "period_months: int = 12",
             "period_months: int = 11", "12 months of coverage become 11"),
    _default("r20-grace-2", "R20", _WARRANTY, "production_grace_months: int = 3",
             "production_grace_months: int = 2", "3 months of production grace become 2"),
    _default("r20-grace-4", "R20", _WARRANTY, "production_grace_months: int = 3",
             "production_grace_months: int = 4", "3 months of production grace become 4"),
    _default("r20-invoice-first", "R20", _WARRANTY,
             "(WarrantyBasis.INSTALLATION, WarrantyBasis.INVOICE)",
             "(WarrantyBasis.INVOICE, WarrantyBasis.INSTALLATION)",
             "the invoice date wins over the installation date"),
    _default("r20-plans-do-not-extend", "R20", _WARRANTY, "service_plans_extend: bool = True",
             "service_plans_extend: bool = False", "service plans no longer extend coverage"),
    _default("r15-fraction-0.7", "R15", _REPAIR_POLICY, "progress_check_fraction: float = 0.75",
             "progress_check_fraction: float = 0.7", "the progress check at 70 %, not 75 %"),
    _default("r15-fraction-0.8", "R15", _REPAIR_POLICY, "progress_check_fraction: float = 0.75",
             "progress_check_fraction: float = 0.8", "the progress check at 80 %, not 75 %"),
    _default("r16-threshold-3-days", "R16", _REPAIR_POLICY,
             "long_job_threshold: timedelta = timedelta(days=2)",
             "long_job_threshold: timedelta = timedelta(days=3)", "a long job from 3 days"),
    _default("r16-threshold-1-day", "R16", _REPAIR_POLICY,
             "long_job_threshold: timedelta = timedelta(days=2)",
             "long_job_threshold: timedelta = timedelta(days=1)", "a long job from 1 day"),
    _default("r16-short-notice-2h", "R16", _REPAIR_POLICY,
             "short_job_notice: timedelta = timedelta(hours=1)",
             "short_job_notice: timedelta = timedelta(hours=2)", "2 h notice for a short job"),
    _default("r16-long-notice-3h", "R16", _REPAIR_POLICY,
             "long_job_notice: timedelta = timedelta(hours=4)",
             "long_job_notice: timedelta = timedelta(hours=3)", "3 h notice for a long job"),
    _default("r21-window-14", "R21", _REPAIR_POLICY, "rerepair_window_days: int = 15",
             "rerepair_window_days: int = 14", "the free re-repair window is 14 days"),
    _default("r21-window-16", "R21", _REPAIR_POLICY, "rerepair_window_days: int = 15",
             "rerepair_window_days: int = 16", "the free re-repair window is 16 days"),
    _default("r21-free-kind-hardware", "R21", _REPAIR_POLICY,
             "default=frozenset({FaultKind.SOFTWARE})", "default=frozenset({FaultKind.HARDWARE})",
             "the free re-repair covers hardware faults instead of software"),
    _default("r21-same-fault-free", "R21", _REPAIR_POLICY,
             "rerepair_same_fault_free: bool = False", "rerepair_same_fault_free: bool = True",
             "a repeat of the same fault is free by default"),
    _default("r21-repeat-threshold-3", "R21", _REPAIR_POLICY,
             "repeat_failure_threshold: int = 2", "repeat_failure_threshold: int = 3",
             "a replacement only after three repairs"),
    _default("r21-part-warranty-4", "R21", _REPAIR_POLICY,
             "replaced_part_warranty_months: int = 3", "replaced_part_warranty_months: int = 4",
             "a replaced part carries 4 months of warranty"),
    _default("r15-chase-lead-11h", "R15", _REPAIR_POLICY,
             "vendor_chase_lead: timedelta = timedelta(hours=12)",
             "vendor_chase_lead: timedelta = timedelta(hours=11)", "chase the vendor 11 h ahead"),
    _default("r15-chase-every-23h", "R15", _REPAIR_POLICY,
             "vendor_chase_every: timedelta = timedelta(hours=24)",
             "vendor_chase_every: timedelta = timedelta(hours=23)", "chase every 23 h"),
    _default("r14-vendor-attempts-4", "R14", _REPAIR_POLICY, "max_vendor_attempts: int = 3",
             "max_vendor_attempts: int = 4", "four vendors may be tried"),
    _default("r23-deposit-share-0.4", "R23", _REPAIR_POLICY,
             'deposit_share: Decimal = Decimal("0.5")', 'deposit_share: Decimal = Decimal("0.4")',
             "a deposit of 40 %, not half"),
    _default("r23-expensive-from-1001", "R23", _REPAIR_POLICY,
             "expensive_part_from: Decimal = Decimal(1000)",
             "expensive_part_from: Decimal = Decimal(1001)", "expensive parts from 1001"),
    _default("r23-reminder-23h", "R23", _REPAIR_POLICY,
             "appointment_reminder_lead: timedelta = timedelta(hours=24)",
             "appointment_reminder_lead: timedelta = timedelta(hours=23)",
             "the appointment reminder 23 h ahead"),
    _default("r25-free-work-not-billed", "R25", _REPAIR_POLICY,
             "bill_additional_work_when_free: bool = True",
             "bill_additional_work_when_free: bool = False",
             "approved priced work on a free order is not billed"),
    _default("r20-zone-utc7", "R20", _REPAIR_POLICY,
             "zone: tzinfo = timezone(timedelta(hours=8))",
             "zone: tzinfo = timezone(timedelta(hours=7))", "calendar days in UTC+7, not UTC+8"),
)

BOUNDARIES: tuple[Mutant, ...] = (
    Mutant("r20-first-day", "R20", _WARRANTY, "start <= on < end", "start < on < end",
           "the first day of coverage is not covered"),
    Mutant("r20-day-after-last", "R20", _WARRANTY, "start <= on < end", "start <= on <= end",
           "the day after the last day of coverage is covered"),
    Mutant("r20-grace-month-short", "R20", _WARRANTY,
           "add_months(equipment.produced_on, self.production_grace_months)",
           "add_months(equipment.produced_on, self.production_grace_months - 1)",
           "the production fallback starts one grace month early"),
    Mutant("r16-exactly-two-days", "R16", _REPAIR_POLICY,
           "job_took >= policy.long_job_threshold", "job_took > policy.long_job_threshold",
           "a job of exactly 2 days gets the short notice"),
    Mutant("r21-day-15", "R21", _REPAIR_POLICY,
           "0 <= days <= policy.rerepair_window_days", "0 <= days < policy.rerepair_window_days",
           "a unit back on day 15 pays"),
    Mutant("r21-day-16", "R21", _REPAIR_POLICY,
           "0 <= days <= policy.rerepair_window_days",
           "0 <= days <= policy.rerepair_window_days + 1", "a unit back on day 16 is free"),
)

SETS: dict[str, tuple[Mutant, ...]] = {
    "defaults": DEFAULTS,
    "boundaries": BOUNDARIES,
    "all": (*DEFAULTS, *BOUNDARIES),
}


# --- running ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    mutant: str
    rule: str
    result: str  # "killed", "survived", "timeout"
    seconds: float
    failed: str  # the first failing test (pytest's summary line), if any


def _copy_project(into: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", "mutants")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, into / name)


def _environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(copy / "src"), *filter(None, [env.get("PYTHONPATH")])]
    )
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _pytest(copy: Path, tests: Sequence[str], timeout: float | None) -> tuple[int | None, str]:
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        done = subprocess.run(
            command, cwd=copy, env=_environment(copy), capture_output=True, text=True,
            timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        return None, ""
    failed = next((line for line in done.stdout.splitlines()
                   if line.startswith(("FAILED", "ERROR"))), "")
    return done.returncode, failed


def _check_copy_is_imported(copy: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import aftersales; print(aftersales.__file__)"],
        cwd=copy, env=_environment(copy), capture_output=True, text=True, check=True,
    )
    imported = Path(probe.stdout.strip()).resolve()
    if copy.resolve() not in imported.parents:
        raise SystemExit(f"the copy is not what is imported: aftersales is {imported}")


def _run_one(mutant: Mutant, tests: Sequence[str], timeout: float) -> Outcome:
    with tempfile.TemporaryDirectory(prefix=f"mutate-{mutant.name}-") as tmp:
        copy = Path(tmp)
        _copy_project(copy)
        mutant.apply(copy)
        started = time.monotonic()
        code, failed = _pytest(copy, tests, timeout)
        seconds = time.monotonic() - started
    if code is None:
        result = "timeout"
    elif code == 0:
        result = "survived"
    elif code in (1, 2, 3):  # tests failed, interrupted (e.g. an import error), internal error
        result = "killed"
    else:
        raise SystemExit(f"{mutant.name}: pytest exited {code} (no tests collected?)")
    return Outcome(mutant.name, mutant.rule, result, round(seconds, 1), failed)


def _baseline(tests: Sequence[str]) -> float:
    with tempfile.TemporaryDirectory(prefix="mutate-clean-") as tmp:
        copy = Path(tmp)
        _copy_project(copy)
        _check_copy_is_imported(copy)
        started = time.monotonic()
        code, failed = _pytest(copy, tests, None)
        seconds = time.monotonic() - started
    if code != 0:
        raise SystemExit(f"the unmutated code fails the selection ({failed or f'exit {code}'})")
    return seconds


def run(
    mutants: Sequence[Mutant], tests: Sequence[str], jobs: int, timeout: float | None = None
) -> list[Outcome]:
    for mutant in mutants:  # every replacement must apply before anything runs
        count = (ROOT / mutant.path).read_text(encoding="utf-8").count(mutant.old)
        if count != 1:
            raise SystemExit(f"{mutant.name}: {mutant.old!r} occurs {count} times")
    clean = _baseline(tests)
    print(f"clean run: {clean:.0f} s for {' '.join(tests)}", flush=True)
    # A failing Hypothesis test shrinks its example first: allow several clean runs' time.
    timeout = timeout or max(600.0, 10 * clean)
    outcomes: list[Outcome] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_run_one, m, tests, timeout): m for m in mutants}
        for future in concurrent.futures.as_completed(futures):
            outcome = future.result()
            outcomes.append(outcome)
            print(f"{outcome.result:9} {outcome.seconds:7.1f} s  {outcome.mutant:28} "
                  f"{outcome.failed}", flush=True)
    order = {m.name: i for i, m in enumerate(mutants)}
    return sorted(outcomes, key=lambda o: order[o.mutant])


def _report(outcomes: Sequence[Outcome]) -> None:
    by_rule: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_rule.setdefault(outcome.rule, []).append(outcome)
    print("\nrule   killed / mutants   survivors")
    for rule, group in sorted(by_rule.items()):
        killed = sum(o.result != "survived" for o in group)
        survivors = ", ".join(o.mutant for o in group if o.result == "survived")
        print(f"{rule:6} {killed:6} / {len(group):<9} {survivors}")
    killed = sum(o.result != "survived" for o in outcomes)
    print(f"total  {killed:6} / {len(outcomes)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list the mutants of a set")
    listing.add_argument("--set", choices=sorted(SETS), default="all")
    show = commands.add_parser("show", help="print a mutant as a diff")
    show.add_argument("name")
    running = commands.add_parser("run", help="run a set of mutants against pytest")
    running.add_argument("--set", choices=sorted(SETS), default="defaults")
    running.add_argument("--only", action="append", default=[], metavar="NAME")
    running.add_argument("-j", "--jobs", type=int, default=1)
    running.add_argument("--json", type=Path, help="also write the outcomes to this file")
    running.add_argument("--timeout", type=float,
                         help="seconds per mutant (default: 10 clean runs, at least 600)")
    running.add_argument("tests", nargs="*", default=["tests/unit"],
                         help="pytest arguments after --, e.g. test paths")
    args = parser.parse_args(argv)

    everything = {m.name: m for m in SETS["all"]}
    if args.command == "list":
        for m in SETS[args.set]:
            print(f"{m.name:28} {m.rule:4} {m.why}")
        return 0
    if args.command == "show":
        if args.name not in everything:
            print(f"no mutant {args.name!r}", file=sys.stderr)
            return 2
        print(everything[args.name].diff(), end="")
        return 0
    chosen = list(SETS[args.set])
    if args.only:
        unknown = sorted(set(args.only) - set(everything))
        if unknown:
            print(f"no mutants {unknown}", file=sys.stderr)
            return 2
        chosen = [everything[name] for name in args.only]
    outcomes = run(chosen, args.tests, args.jobs, args.timeout)
    _report(outcomes)
    if args.json:
        args.json.write_text(json.dumps([o.__dict__ for o in outcomes], indent=2) + "\n")
    return 1 if any(o.result == "survived" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())

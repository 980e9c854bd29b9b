"""The :class:`Fuzzer` and :func:`fuzz`."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

import attrs

from aftersales.domain.records import Actor, Customer
from aftersales.domain.values import Role
from aftersales.errors import AftersalesError
from aftersales.service.commands import Command
from aftersales.service.desk import ServiceDesk
from aftersales.service.repairs import RepairDesk
from aftersales.service.runner import Context
from aftersales.testing.fuzz.bases import SHIPPED_ALLOWED, SHIPPED_BASES, BaseFactory
from aftersales.testing.fuzz.methods import QUERIES, _typed_run, typed_call, typed_methods
from aftersales.testing.fuzz.report import Finding, FuzzReport, _describe
from aftersales.testing.fuzz.slots import _init_values, _Slot, _slots
from aftersales.testing.fuzz.snapshots import changed_keys
from aftersales.testing.fuzz.values import BAD_VALUES, BadValue, Probe
from aftersales.testing.fuzz.world import FuzzWorld


class _Dirty(Exception):
    """An attempt was accepted: the base command's targets changed."""


@attrs.frozen
class _Baseline:
    """The state every attempt is compared with, the full snapshot, and a checkpoint."""

    compare: Any
    deep: Any
    checkpoint: Any


class Fuzzer:
    """Fuzz every command of ``desk`` (see the module documentation).

    - ``supervisor``: an active supervisor of the desk's directory (the world is set up by
      them);
    - ``snapshot``: returns everything the store has committed (compared before and after);
    - ``quick``: optional cheap check after every attempt (``snapshot`` then runs once per
      command class);
    - ``checkpoint`` and ``restore``: optional; put the store back after an accepted
      attempt (cheaper than new base commands; :func:`memory_checkpoint`,
      :func:`memory_restore`);
    - ``bases``: valid base commands of your own command classes (merged over
      :data:`SHIPPED_BASES`);
    - ``values``: the classes of bad input (default :data:`BAD_VALUES`);
    - ``allowed``: where a value that is invalid elsewhere may be accepted (path → labels,
      default :data:`SHIPPED_ALLOWED`);
    - ``keyed``: also run every attempt that builds with an idempotency key;
    - ``repairs``: the RepairDesk whose typed methods are called (default one on ``desk``);
    - ``populate``: first make a request, order and outsourced repair in every stage
      (:meth:`FuzzWorld.populate`).
    """

    def __init__(
        self,
        desk: ServiceDesk,
        *,
        supervisor: Actor | UUID,
        snapshot: Callable[[], Any],
        quick: Callable[[], Any] | None = None,
        checkpoint: Callable[[], Any] | None = None,
        restore: Callable[[Any], None] | None = None,
        bases: Mapping[type[Command], BaseFactory] | None = None,
        values: Sequence[BadValue] = BAD_VALUES,
        allowed: Mapping[str, Iterable[str]] = SHIPPED_ALLOWED,
        keyed: bool = True,
        repairs: RepairDesk | None = None,
        populate: bool = True,
    ) -> None:
        self.desk = desk
        self.repairs = repairs or RepairDesk(desk)
        self.snapshot = snapshot
        self.quick = quick
        self.checkpoint = checkpoint
        self.restore = restore
        self.bases: dict[type[Command], BaseFactory] = {**SHIPPED_BASES, **(bases or {})}
        self.values = tuple(values)
        self.allowed = {path: frozenset(labels) for path, labels in allowed.items()}
        self.keyed = keyed
        self.world = FuzzWorld(desk, supervisor, repairs=self.repairs)
        if populate:
            self.world.populate()
        self._built: dict[type[Command], Command] = {}
        self._keys = itertools.count(1)
        self._deep_every_attempt = quick is None

    # --- bases ------------------------------------------------------------------------------

    def base(self, cls: type[Command]) -> Command:
        """The valid base command of ``cls`` (built once, and again after an accepted
        attempt), its ``expected_version`` set to its target's."""
        built = self._built.get(cls)
        if built is None:
            built = self.bases[cls](self.world)
            handler = self.desk.handlers[cls]
            if handler.target is not None:
                with self.desk.uow_factory() as uow:
                    actor = uow.actors.get(built.actor_id)
                    ctx = Context(self.desk, uow, actor, self.desk.clock.now(),
                                  self.desk.settings)
                    target = handler.target(ctx, built)
                built = attrs.evolve(built, expected_version=target.version)
            self._built[cls] = built
        return built

    # --- attempts ---------------------------------------------------------------------------

    @property
    def _quick_mode(self) -> bool:
        return self.quick is not None and not self._deep_every_attempt

    def _state(self) -> Any:
        """What is compared after every attempt."""
        return self.quick() if self.quick is not None and self._quick_mode else self.snapshot()

    def _baseline(self, *, full: bool = True) -> _Baseline:
        """The state to compare with; ``full``: the full snapshot too (in quick mode it is
        compared once, at the end of a command class)."""
        deep = self.snapshot() if full or not self._quick_mode else None
        return _Baseline(self._state() if self._quick_mode else deep, deep,
                         self.checkpoint() if self.checkpoint is not None else None)

    def _recover(self, cls: type[Command] | None, baseline: _Baseline) -> _Baseline:
        """After an accepted attempt (or a change): back to the baseline if the store can be
        restored, else new base commands on the changed world."""
        if self.restore is not None and baseline.checkpoint is not None:
            self.restore(baseline.checkpoint)
            if self._state() == baseline.compare:
                return baseline
        if cls is None:
            self._built.clear()
        else:
            self._built.pop(cls, None)
            self.base(cls)
        return self._baseline(full=baseline.deep is not None)

    def _execute(self, run: Callable[[], object], report: FuzzReport, where: str, label: str,
                 baseline: _Baseline, must_refuse: bool) -> None:
        report.attempts += 1
        try:
            run()
        except AftersalesError as refused:
            report.outcomes[f"refused: {type(refused).__name__}"] += 1
            self._unchanged(report, where, label, baseline, refused)
            return
        except Exception as leaked:
            report.outcomes["leaked"] += 1
            report.findings.append(Finding(where, label, "execute", _describe(leaked)))
            self._unchanged(report, where, label, baseline, leaked)
            return
        report.outcomes["accepted"] += 1
        if must_refuse:
            report.findings.append(Finding(where, label, "accepted",
                                           "a value that cannot be valid was accepted"))
        raise _Dirty()

    def _unchanged(self, report: FuzzReport, where: str, label: str, baseline: _Baseline,
                   error: BaseException) -> None:
        now = self._state()
        if now != baseline.compare:
            which = "" if self._quick_mode else ": " + ", ".join(
                changed_keys(baseline.compare, now)[:5])
            report.findings.append(Finding(
                where, label, "changed",
                f"refused with {_describe(error)} but the store changed{which}"))
            raise _Dirty()

    def _attempt(self, cls: type[Command], slot: _Slot, bad: BadValue, report: FuzzReport,
                 baseline: _Baseline) -> None:
        base = self.base(cls)
        probe = Probe(self.world, slot.base, slot.annotation)
        try:
            value = bad.make(probe)
        except AftersalesError:
            report.attempts += 1
            report.outcomes["refused: building the value"] += 1
            return
        except Exception as leaked:
            report.attempts += 1
            report.findings.append(Finding(slot.path, bad.label, "value", _describe(leaked)))
            return
        must_refuse = (bad.always_invalid or not slot.plausible(value)) and (
            bad.label not in self.allowed.get(slot.path, ()))
        try:
            command = cls(**{**_init_values(base), slot.field: slot.rebuild(value)})
        except AftersalesError:
            report.attempts += 1
            report.outcomes["refused: building the command"] += 1
            return
        except Exception as leaked:
            report.attempts += 1
            report.findings.append(Finding(slot.path, bad.label, "construct", _describe(leaked)))
            return
        runs: list[Command] = [command]
        if self.keyed and slot.field != "idempotency_key":
            try:
                runs.append(attrs.evolve(command, idempotency_key=f"fuzz-{next(self._keys)}"))
            except Exception as leaked:
                report.findings.append(Finding(slot.path, bad.label, "construct",
                                               f"with a key: {_describe(leaked)}"))
        for run in runs:
            self._execute(functools.partial(self.desk.execute, run), report, slot.path,
                          bad.label, baseline, must_refuse)

    def fuzz_command(self, cls: type[Command], report: FuzzReport) -> None:
        """Fuzz every field of ``cls`` (and of the value objects it carries) with every bad
        value."""
        name = cls.__name__
        report.commands.append(name)
        if cls not in self.bases:
            report.findings.append(Finding(name, "-", "coverage", "no base command for it"))
            return
        try:
            count = len(list(_slots(self.base(cls))))
        except Exception as error:
            report.findings.append(Finding(name, "-", "base", f"cannot build: {_describe(error)}"))
            return
        baseline = self._baseline()
        built: Command | None = None
        slots: list[_Slot] = []
        for index in range(count):
            for bad in self.values:
                if self.base(cls) is not built:  # new after an accepted attempt
                    built = self.base(cls)
                    slots = list(_slots(built))
                slot = slots[index]
                try:
                    self._attempt(cls, slot, bad, report, baseline)
                except _Dirty:
                    baseline = self._recover(cls, baseline)
        if self._quick_mode:
            deep = self.snapshot()
            if deep != baseline.deep:
                report.findings.append(Finding(
                    name, "-", "changed", "the store changed where the quick check saw "
                    "nothing: " + ", ".join(changed_keys(baseline.deep, deep)[:5])))
                self._built.pop(cls, None)
                self._deep_every_attempt = True
                again = FuzzReport()
                try:
                    self.fuzz_command(cls, again)  # pinpoint it: the full snapshot each time
                finally:
                    self._deep_every_attempt = False
                report.findings.extend(f for f in again.findings if f.stage == "changed")
        self._control(cls, self.desk.execute, report, name)

    def _control(self, cls: type[Command], run: Callable[[Command], object],
                 report: FuzzReport, where: str) -> None:
        """Run the base command that every attempt was judged against: it must succeed."""
        base = self._built.pop(cls, None)
        if base is None:
            return
        try:
            run(base)
        except Exception as error:
            report.findings.append(Finding(where, "the base command", "base", _describe(error)))

    def fuzz_commands(self, classes: Iterable[type[Command]] | None = None) -> FuzzReport:
        """Fuzz every command class the desk's runner has a handler for (or ``classes``)."""
        report = FuzzReport()
        for cls in classes if classes is not None else list(self.desk.handlers):
            self.fuzz_command(cls, report)
        return report

    def bad_actors(self) -> list[tuple[str, Callable[[Probe], Any]]]:
        """The bad actor values: every bad value, an Actor object that is not in the
        directory, a deactivated actor, a customer file and an actor id as text."""
        w = self.world
        fake = Actor(UUID(int=2**128 - 2), "Not In The Directory", {Role.SUPERVISOR})
        customer = Customer(w.customer, "Fuzz Trading")
        return [(b.label, b.make) for b in self.values] + [
            ("an Actor not in the directory", lambda _p: fake),
            ("a deactivated actor's id", lambda _p: w.retired),
            ("a customer file instead of an actor", lambda _p: customer),
            ("the acting actor's id as text", lambda _p: str(w.clerk)),
        ]

    def fuzz_actors(self, report: FuzzReport | None = None) -> FuzzReport:
        """Call every typed method of the desk and the repair desk (queries included) with
        every bad actor value: each must be refused and change nothing. Then each command
        method runs once with its base command's own actor: it must succeed."""
        report = report or FuzzReport()
        w = self.world
        for desk in (self.desk, self.repairs):
            for name in typed_methods(desk):
                report.methods.append(name)
                cls = next((c for c in self.desk.handlers if c.name == name), None)
                if name not in QUERIES and (cls is None or cls not in self.bases):
                    report.findings.append(Finding(f"{name}(actor)", "-", "coverage",
                                                   "no command or query to call it with"))
                    continue
                try:
                    call = self._caller(desk, name, cls)
                except Exception as error:
                    report.findings.append(Finding(f"{name}(actor)", "-", "coverage",
                                                   _describe(error)))
                    continue
                baseline = self._baseline(full=False)  # refused before anything is read
                for label, make in self.bad_actors():
                    try:
                        actor = make(Probe(w, w.clerk, Actor | UUID))
                    except AftersalesError:
                        continue
                    try:
                        self._execute(call(actor), report, f"{name}(actor)", label, baseline,
                                      True)
                    except _Dirty:
                        baseline = self._recover(cls, baseline)
                if cls is not None and name not in QUERIES:
                    self._control(cls, functools.partial(_typed_run, desk), report,
                                  f"{name}(actor)")
        return report

    def _caller(self, desk: object, name: str, cls: type[Command] | None
                ) -> Callable[[Any], Callable[[], object]]:
        """How to call the typed method ``name`` as a given actor."""
        if name in QUERIES:
            query = QUERIES[name]
            return lambda actor: (lambda: query(self.world, actor))
        assert cls is not None
        typed_call(desk, self.base(cls), None)  # KeyError if it cannot be called
        return lambda actor: typed_call(desk, self.base(cls), actor)

    def check_bases(self, report: FuzzReport | None = None) -> FuzzReport:
        """Run every base command built so far: each must succeed (run this last: it
        changes the store)."""
        report = report or FuzzReport()
        for cls, base in list(self._built.items()):
            try:
                self.desk.execute(base)
            except Exception as error:
                report.findings.append(Finding(cls.__name__, "the base command", "base",
                                               _describe(error)))
        self._built.clear()
        return report

    def run(self, classes: Iterable[type[Command]] | None = None) -> FuzzReport:
        """Fuzz the commands, then the typed methods' actors (each base command is run at
        the end of its turn: it must succeed)."""
        report = self.fuzz_commands(classes)
        self.fuzz_actors(report)
        self.check_bases(report)
        return report


def fuzz(
    desk: ServiceDesk, *, supervisor: Actor | UUID, snapshot: Callable[[], Any],
    quick: Callable[[], Any] | None = None, **options: Any,
) -> FuzzReport:
    """Run a :class:`Fuzzer` over ``desk`` and return its report."""
    return Fuzzer(desk, supervisor=supervisor, snapshot=snapshot, quick=quick,
                  **options).run()

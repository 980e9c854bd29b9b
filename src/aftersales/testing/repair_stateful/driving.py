"""Issuing repair desk commands: one command judged against the oracle's prediction and
its decisions checked (R16, R20, R21), a step along the natural path (to the R16 and
R21 edges), and any command by anyone.

Part of :mod:`aftersales.testing.repair_stateful`: import from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from aftersales.domain.records import Actor
from aftersales.domain.repair import DepotState, RepairOrder
from aftersales.domain.values import shifted
from aftersales.errors import AftersalesError
from aftersales.testing import repair_strategies as rst
from aftersales.testing import strategies
from aftersales.testing.repair_stateful.arguments import RepairArguments
from aftersales.testing.repair_stateful.paths import RepairPaths
from aftersales.testing.repair_stateful.tables import REPAIR_ACTOR_KEYS

__all__ = ["RepairDriving"]


class RepairDriving(RepairPaths, RepairArguments):
    """Runs commands and judges their answers."""

    def run_command(
        self, command: str, actor: Actor, order: RepairOrder, arguments: dict[str, Any]
    ) -> object | None:
        """Issue one repair desk command and judge the answer against the oracle's
        prediction; a refusal must change nothing (then ``None`` is returned)."""
        args = dict(arguments)
        target = args.pop("_target")
        e = self.expect_repair_command(command, actor, target, args)
        at = self.now()
        before = self.snapshot()
        lengths = {s.id: len(s.record) for s in self._subjects(order)}
        old = self.store.repairs[order.id]
        method: Callable[..., object] = getattr(self.repairs, command)
        try:
            result = method(actor, target, **args)
        except AftersalesError as error:
            self._expect_unchanged(before, e.what, error)
            self.outcomes[f"{command}: refused ({type(error).__name__})"] += 1
            e.judge(error)
            return None
        finally:
            self._tick()
        e.judge(None)
        self.outcomes[f"{command}: done"] += 1
        self.check_steps(e, lengths, self._subjects(order))
        new = self.store.repairs[order.id]
        if command == "diagnose":
            self.check_diagnosis(new, args)
        elif command == "mark_ready":
            self.check_pickup(new, at)
        elif command == "notify_delay":
            self.check_delay(new, old.promised_at, at)
        elif command == "deliver":
            self.check_part_warranties(new, at)
        return result

    def _advance(self, order_id: UUID, data: st.DataObject, *, detours: bool = True) -> None:
        order = self.store.repairs[order_id]
        natural = self.natural_commands(order)
        if not natural:
            if detours:
                self._attempt(order_id, data)
            return
        if detours and data.draw(st.integers(0, 7), label="detour") == 0:
            offered = rst.depot_candidates(order)
            repair = self._outsourced(order)
            if repair is not None and order.state == DepotState.AT_VENDOR:
                offered += rst.outsourced_candidates(repair)
            natural = [c for c in offered if c not in self.excluded_commands] or natural
        command = data.draw(st.sampled_from(natural), label="command")
        if command == "mark_ready" and order.qc_passed_after_last_repair:
            # R16: the job takes exactly the threshold, or a hair (or an hour) either side
            ready = self.deadlines.pop(("ready", order.id), None)
            if ready is None and data.draw(st.booleans(), label="R16 edge now"):
                took = data.draw(strategies.durations_around(
                    self.repair_policy.long_job_threshold), label="the job took")
                ready = shifted(order.received_at, took)
            if ready is not None:
                self._jump(ready)
        actor = self.natural_actor(command, order)
        arguments = self.draw_arguments(data, command, order, actor, valid=True)
        result = self.run_command(command, actor, order, arguments)
        delivered = self.store.repairs[order_id].delivery
        if command == "deliver" and result is not None and delivered is not None:
            # R21: the unit will come back on day 0, 14, 15 or 16 after its pick-up
            policy = self.repair_policy
            self.deadlines[("back", order.equipment_id)] = data.draw(strategies.days_after(
                delivered.at, policy.zone, window_days=policy.rerepair_window_days,
            ), label="back at")

    def _attempt(self, order_id: UUID, data: st.DataObject) -> None:
        order = self.store.repairs[order_id]
        command = data.draw(st.sampled_from(self.commands()), label="command")
        actor = self.actor_for(data.draw(st.sampled_from(REPAIR_ACTOR_KEYS), label="actor"),
                               order)
        valid = data.draw(st.booleans(), label="valid arguments")
        arguments = self.draw_arguments(data, command, order, actor, valid=valid)
        self.run_command(command, actor, order, arguments)

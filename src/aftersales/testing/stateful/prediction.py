"""The oracle of the service desk machine: what each command must do, predicted from the
committed state (see :mod:`aftersales.testing.oracle` for the stages), and the command
issued and judged against the prediction.

Part of :mod:`aftersales.testing.stateful`: import from there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID

from aftersales.domain.records import Actor
from aftersales.domain.request import (
    DispatchApproval,
    OnSiteJob,
    RemoteJob,
    RequestState,
    ServiceRequest,
)
from aftersales.domain.values import Role
from aftersales.errors import (
    AftersalesError,
    ConcurrencyConflict,
    IdempotencyConflict,
    InvalidTransition,
    NotAuthorized,
    NotFound,
    ValidationError,
)
from aftersales.testing import oracle
from aftersales.testing.oracle import Expectation
from aftersales.testing.stateful.base import DeskMachineBase
from aftersales.testing.stateful.tables import (
    _ONSITE_TRIGGER,
    _REQUEST_TRIGGER,
    _TEXT_ARGUMENTS,
    _canonical,
    _Sent,
)

__all__ = ["DeskPrediction"]


class DeskPrediction(DeskMachineBase):
    """Predicts each command's answer and judges the desk's."""

    def expect_arguments(self, e: Expectation, command: str, arguments: dict[str, Any]) -> None:
        """The command's own limits: required text, ratings 1-5, fees not negative, aware
        instants within range."""
        for name, longest in _TEXT_ARGUMENTS.get(command, ()):
            if not oracle.text_ok(arguments.get(name), max_length=longest):
                e.refuse(ValidationError, "arguments", f"{name} {arguments.get(name)!r}")
        if "note" in arguments and not oracle.text_ok(arguments["note"], required=False):
            e.refuse(ValidationError, "arguments", "note")
        rating = arguments.get("rating")
        if rating is not None and not (isinstance(rating, int) and 1 <= rating <= 5):
            e.refuse(ValidationError, "arguments", f"rating {rating}")
        fee = arguments.get("fee")
        if fee is not None and not oracle.money_ok(fee):
            e.refuse(ValidationError, "arguments", f"fee {fee}")
        for name in ("promised_at", "new_time"):
            if arguments.get(name) is not None and not oracle.instant_ok(arguments[name]):
                e.refuse(ValidationError, "arguments", f"{name} {arguments[name]}")

    def _expect_actor(self, e: Expectation, actor: Actor) -> Actor | None:
        who = self.store.actors.get(actor.id)
        if who is None or not who.active:
            e.refuse(NotAuthorized, "actor", f"{actor.name} is not an active actor")
            return None
        return who

    def expect_command(
        self, command: str, actor: Actor, request_id: UUID, arguments: dict[str, Any], *,
        key: str | None = None, expected_version: int | None = None,
    ) -> Expectation:
        """What ``command`` by ``actor`` on request ``request_id`` must do, from the committed
        state: see :mod:`aftersales.testing.oracle` for the stages."""
        request = self.store.requests.get(request_id)
        label = f"{request.number} ({request.state})" if request is not None else str(request_id)
        e = Expectation(f"{command} by {actor.name} on {label}")
        self.expect_arguments(e, command, arguments)
        who = self._expect_actor(e, actor)
        repeated = None
        if key is not None:
            repeated = self.keys.get((actor.id, command, key))
            if repeated is not None and repeated != _canonical(arguments):
                e.refuse(IdempotencyConflict, "key", f"key {key!r} was used for other arguments")
        if request is None:
            e.refuse(NotFound, "target", f"no request {request_id}")
            return e
        if repeated is None and expected_version is not None and (
            expected_version != request.version
        ):
            e.refuse(ConcurrencyConflict, "target",
                     f"expected version {expected_version}, stored {request.version}")
        if who is not None and not self.expect_permission(who, command, request):
            e.refuse(NotAuthorized, "authorization", f"R30: {who.name} may not {command}")
        if repeated is None:
            self.expect_rules(e, command, request.clone(), arguments)
        return e

    def expect_rules(
        self, e: Expectation, command: str, model: ServiceRequest, arguments: dict[str, Any]
    ) -> None:
        """The workflow rules of ``command`` on ``model`` (a working copy of the request that
        the prediction moves on): which transitions it fires, on the request and its active
        job, and whether their guards hold."""
        flows = self.workflows()
        request_flow = flows["request"]
        job = model.active_job
        job_flow = None if job is None else (
            flows["remote"] if isinstance(job, RemoteJob) else flows["onsite"]
        )

        def on_job(kind: type[Any], trigger: str) -> None:
            if not isinstance(job, kind) or job_flow is None:
                e.refuse(InvalidTransition, "rules",
                         f"{model.number} has no active {kind.__name__}")
                return
            oracle.fire(e, job_flow, job, trigger, model, what=f"job of {model.number}")

        def on_request(trigger: str) -> None:
            oracle.fire(e, request_flow, model, trigger, model, what=model.number)

        if command == "assign":
            engineer = self.store.actors.get(arguments["engineer_id"])
            if engineer is None:
                e.refuse(NotFound, "rules", "no such engineer")
            elif not engineer.has(Role.ENGINEER) or not engineer.active:
                e.refuse(ValidationError, "rules", f"{engineer.name} is not an active engineer")
        if command in _REQUEST_TRIGGER:
            on_request(_REQUEST_TRIGGER[command])
            if command in ("start_remote", "start_onsite"):
                e.steps.append((("remote" if command == "start_remote" else "onsite"), "open",
                                None, (flows["remote"] if command == "start_remote"
                                       else flows["onsite"]).initial))
        elif command in _ONSITE_TRIGGER:
            on_job(OnSiteJob, _ONSITE_TRIGGER[command])
        elif command == "record_contact":
            on_job(RemoteJob, "record_contact")
        elif command == "escalate_onsite":
            on_job(RemoteJob, "escalate_onsite")
            e.steps.append(("onsite", "open", None, flows["onsite"].initial))
        elif command == "cancel":
            on_request("cancel")
            if job is not None and job_flow is not None:
                oracle.fire(e, job_flow, job, "cancel", model)
        elif command == "hand_to_depot":
            if job is None or job_flow is None:
                e.refuse(InvalidTransition, "rules", f"{model.number} has no active job")
            else:
                oracle.fire(e, job_flow, job, "hand_to_depot", model)
            on_request("hand_to_depot")
        elif command == "resolve":
            if isinstance(job, RemoteJob) and job_flow is not None and (
                model.state == RequestState.IN_PROGRESS
            ):
                oracle.fire(e, job_flow, job, "resolve", model)
            on_request("resolve")
        else:  # pragma: no cover - every command of DESK_COMMANDS is modelled above
            raise AssertionError(f"the oracle does not know {command}")

    def expect_effects(
        self, e: Expectation, command: str, actor: Actor, before: ServiceRequest,
        after: ServiceRequest, arguments: dict[str, Any],
    ) -> None:
        """An accepted command appended exactly the predicted record entries (R9) and did
        what it says (R11, R12)."""
        new = after.record[len(before.record):]
        assert after.record[: len(before.record)] == before.record, "R9: the record changed"
        got = Counter((x.workflow, x.action, x.from_state, x.to_state) for x in new)
        assert got == Counter(e.steps), (
            f"{e.what}: appended {sorted(got.elements())}, predicted {sorted(e.steps)}"
        )
        job = after.current_job
        if command == "assign":
            assert after.engineer_id == arguments["engineer_id"]
        elif command in ("approve_dispatch", "retro_approve"):
            wanted = DispatchApproval.APPROVED if command == "approve_dispatch" else (
                DispatchApproval.RETRO_APPROVED
            )
            approved = [j for j in after.jobs if isinstance(j, OnSiteJob)
                        and j.approval == wanted and j.approved_by == actor.id]
            assert approved, f"R12: {command} by {actor.name} left no {wanted} approval"
        elif command == "dispatch_emergency":
            assert isinstance(job, OnSiteJob)
            assert job.approval == DispatchApproval.EMERGENCY_PENDING
        elif command == "confirm":
            assert after.customer_confirmed_at is not None

    def run_command(
        self, command: str, actor: Actor, request_id: UUID, arguments: dict[str, Any], *,
        key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest | None:
        """Issue one desk command and judge the answer against the oracle's prediction; a
        refusal must change nothing (then ``None`` is returned)."""
        e = self.expect_command(command, actor, request_id, arguments, key=key,
                                expected_version=expected_version)
        before = self.snapshot()
        old = self.store.requests.get(request_id)
        method: Callable[..., ServiceRequest] = getattr(self.desk, command)
        try:
            result = method(actor, request_id, **arguments, idempotency_key=key,
                            expected_version=expected_version)
        except AftersalesError as error:
            self._expect_unchanged(before, e.what, error)
            self.outcomes[f"{command}: refused ({type(error).__name__})"] += 1
            e.judge(error)
            return None
        finally:
            self._tick()
        e.judge(None)
        self.outcomes[f"{command}: done"] += 1
        assert old is not None
        if key is not None and (actor.id, command, key) in self.keys:
            assert self.snapshot() == before, f"repeated {e.what} changed the store"
            assert result.id == request_id
            return result
        if key is not None:
            self.keys[(actor.id, command, key)] = _canonical(arguments)
            self.sent.append(_Sent(command, actor, request_id, dict(arguments), key))
        self.expect_effects(e, command, actor, old, self.store.requests[request_id], arguments)
        return result

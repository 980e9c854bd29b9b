"""The typed methods of the request flows (R5-R12): each builds one command and runs it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from aftersales.domain.records import Actor
from aftersales.domain.request import ServiceRequest
from aftersales.domain.values import Category, Channel, Impact, Money, Role, Urgency
from aftersales.errors import ValidationError
from aftersales.service import requests as rq
from aftersales.service.commands import Command
from aftersales.service.runner import CommandRunner, Context, actor_id_of

__all__ = ["RequestCommands"]


class RequestCommands(CommandRunner):
    """Typed methods of the request commands (mixed into
    :class:`~aftersales.service.desk.ServiceDesk`)."""

    def _on_request_run(self, command: Command) -> ServiceRequest:
        result: ServiceRequest = self.execute(command)
        return result

    def register_request(
        self,
        actor: Actor | UUID,
        *,
        customer_id: UUID,
        summary: str,
        category: Category = Category.FAULT,
        channel: Channel = Channel.PHONE,
        impact: Impact = Impact.MODERATE,
        urgency: Urgency = Urgency.MEDIUM,
        equipment_id: UUID | None = None,
        idempotency_key: str | None = None,
    ) -> ServiceRequest:
        """R7: register a request; it gets a service number and its first record entry.

        Pass an ``idempotency_key`` (every command accepts one) to make a retry safe: the
        same key with the same arguments returns the first result and writes nothing twice.
        """
        return self._on_request_run(
            rq.RegisterRequest(
                actor_id=actor_id_of(actor),
                customer_id=customer_id,
                summary=summary,
                category=category,
                channel=channel,
                impact=impact,
                urgency=urgency,
                equipment_id=equipment_id,
                idempotency_key=idempotency_key,
            )
        )

    def route(
        self, actor: Actor | UUID, request_id: UUID, *, department: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R7: route to a department."""
        return self._on_request_run(rq.Route(
            actor_id=actor_id_of(actor), request_id=request_id, department=department,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def assign(
        self, actor: Actor | UUID, request_id: UUID, *, engineer_id: UUID,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R11/R12: assign (or reassign) an active engineer from the directory."""
        return self._on_request_run(rq.Assign(
            actor_id=actor_id_of(actor), request_id=request_id, engineer_id=engineer_id,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def reject(
        self, actor: Actor | UUID, request_id: UUID, *, reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """Reject a request at registration or routing; the record is kept."""
        return self._on_request_run(rq.Reject(
            actor_id=actor_id_of(actor), request_id=request_id, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def cancel(
        self, actor: Actor | UUID, request_id: UUID, *, reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """Cancel an open request (not while its unit is at the depot); the record is kept."""
        return self._on_request_run(rq.Cancel(
            actor_id=actor_id_of(actor), request_id=request_id, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def start_remote(
        self, actor: Actor | UUID, request_id: UUID, *, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> ServiceRequest:
        """R11: the assigned engineer starts remote work."""
        return self._on_request_run(rq.StartRemote(
            actor_id=actor_id_of(actor), request_id=request_id, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def record_contact(
        self, actor: Actor | UUID, request_id: UUID, *, channel: Channel, summary: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R11: record a remote contact."""
        return self._on_request_run(rq.RecordContact(
            actor_id=actor_id_of(actor), request_id=request_id, channel=channel, summary=summary,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def escalate_onsite(
        self, actor: Actor | UUID, request_id: UUID, *, reason: str,
        promised_at: datetime | None = None, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> ServiceRequest:
        """R11: remote work failed; plan an on-site visit."""
        return self._on_request_run(rq.EscalateOnsite(
            actor_id=actor_id_of(actor), request_id=request_id, reason=reason,
            promised_at=promised_at, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def hand_to_depot(
        self, actor: Actor | UUID, request_id: UUID, *, reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R11/R12: the unit is to go to depot repair (R13)."""
        return self._on_request_run(rq.HandToDepot(
            actor_id=actor_id_of(actor), request_id=request_id, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def resolve(
        self, actor: Actor | UUID, request_id: UUID, *, resolution: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R11/R12: the assigned engineer reports the problem solved."""
        return self._on_request_run(rq.Resolve(
            actor_id=actor_id_of(actor), request_id=request_id, resolution=resolution,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def confirm(
        self, actor: Actor | UUID, request_id: UUID, *, note: str = "",
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R10: the customer confirms completion (or staff record it for them)."""
        return self._on_request_run(rq.Confirm(
            actor_id=actor_id_of(actor), request_id=request_id, note=note,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def reopen(
        self, actor: Actor | UUID, request_id: UUID, *, reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R10: the customer does not accept the resolution."""
        return self._on_request_run(rq.Reopen(
            actor_id=actor_id_of(actor), request_id=request_id, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def close(
        self, actor: Actor | UUID, request_id: UUID, *, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> ServiceRequest:
        """R10/R12: close a confirmed request whose dispatches are all approved."""
        return self._on_request_run(rq.Close(
            actor_id=actor_id_of(actor), request_id=request_id, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def start_onsite(
        self, actor: Actor | UUID, request_id: UUID, *, promised_at: datetime | None = None,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R12: plan an on-site visit for an assigned request."""
        return self._on_request_run(rq.StartOnsite(
            actor_id=actor_id_of(actor), request_id=request_id, promised_at=promised_at,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def confirm_need(
        self, actor: Actor | UUID, request_id: UUID, *, note: str = "",
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R12: the engineer confirmed the need for a visit with the customer."""
        return self._on_request_run(rq.ConfirmNeed(
            actor_id=actor_id_of(actor), request_id=request_id, note=note,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def approve_dispatch(
        self, actor: Actor | UUID, request_id: UUID, *, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> ServiceRequest:
        """R12: a supervisor approves the dispatch (the approval is the acting supervisor's)."""
        return self._on_request_run(rq.ApproveDispatch(
            actor_id=actor_id_of(actor), request_id=request_id, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def dispatch_emergency(
        self, actor: Actor | UUID, request_id: UUID, *, reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R12: the engineer goes first; the approval must be recorded before closing."""
        return self._on_request_run(rq.DispatchEmergency(
            actor_id=actor_id_of(actor), request_id=request_id, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def retro_approve(
        self, actor: Actor | UUID, request_id: UUID, *, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> ServiceRequest:
        """R12: a supervisor records the approval of an emergency dispatch (补办手续)."""
        return self._on_request_run(rq.RetroApprove(
            actor_id=actor_id_of(actor), request_id=request_id, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def prepare(
        self, actor: Actor | UUID, request_id: UUID, *, note: str = "",
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R12: prepare parts and tools."""
        return self._on_request_run(rq.Prepare(
            actor_id=actor_id_of(actor), request_id=request_id, note=note,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def depart(
        self, actor: Actor | UUID, request_id: UUID, *, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> ServiceRequest:
        """R12: the engineer sets off."""
        return self._on_request_run(rq.Depart(
            actor_id=actor_id_of(actor), request_id=request_id, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def record_arrival(
        self, actor: Actor | UUID, request_id: UUID, *, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> ServiceRequest:
        """R12: record the arrival time (the desk's clock)."""
        return self._on_request_run(rq.RecordArrival(
            actor_id=actor_id_of(actor), request_id=request_id, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def record_work(
        self, actor: Actor | UUID, request_id: UUID, *, description: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R12: record work done on site."""
        return self._on_request_run(rq.RecordWork(
            actor_id=actor_id_of(actor), request_id=request_id, description=description,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def sign_off(
        self, actor: Actor | UUID, request_id: UUID, *, found: str, result: str, signed_by: str,
        rating: int | None = None, parts_replaced: Iterable[str] = (), fee: Money | None = None,
        open_issues: str = "", remarks: str = "", idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> ServiceRequest:
        """R12/R3: the customer signs the technical service report on site."""
        return self._on_request_run(rq.SignOff(
            actor_id=actor_id_of(actor), request_id=request_id, found=found, result=result,
            signed_by=signed_by, rating=rating, parts_replaced=parts_replaced, fee=fee,
            open_issues=open_issues, remarks=remarks, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def call_consultation(
        self, actor: Actor | UUID, request_id: UUID, *, reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R12: not solved on site; call a consultation (会诊)."""
        return self._on_request_run(rq.CallConsultation(
            actor_id=actor_id_of(actor), request_id=request_id, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def plan_revisit(
        self, actor: Actor | UUID, request_id: UUID, *, plan: str, promised_at: datetime,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R12: the consultation's plan and the date of the new visit."""
        return self._on_request_run(rq.PlanRevisit(
            actor_id=actor_id_of(actor), request_id=request_id, plan=plan, promised_at=promised_at,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def reschedule(
        self, actor: Actor | UUID, request_id: UUID, *, new_time: datetime, reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> ServiceRequest:
        """R12: move a promised visit, recording the reason and the time it replaces."""
        return self._on_request_run(rq.Reschedule(
            actor_id=actor_id_of(actor), request_id=request_id, new_time=new_time, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    # --- queries ---------------------------------------------------------------------------

    def get_request(self, actor: Actor | UUID, request_id: UUID) -> ServiceRequest:
        """One request (a customer sees only their own)."""
        if not isinstance(request_id, UUID):
            raise ValidationError("ServiceRequest", "id", "expected a UUID")

        def read(ctx: Context) -> ServiceRequest:
            request = ctx.uow.requests.get(request_id)
            ctx.authorize("view", request)
            return request

        return self.query(actor, "view", read)

    def find_requests(
        self,
        actor: Actor | UUID,
        *,
        customer_id: UUID | None = None,
        states: Iterable[str] | None = None,
        engineer_id: UUID | None = None,
        limit: int | None = None,
    ) -> list[ServiceRequest]:
        """Requests by customer, state and engineer, oldest first (a customer sees only
        their own)."""
        for field, value in (("customer_id", customer_id), ("engineer_id", engineer_id)):
            if value is not None and not isinstance(value, UUID):
                raise ValidationError("ServiceRequest", field, "expected a UUID")
        if isinstance(states, str | bytes):
            raise ValidationError("ServiceRequest", "states", "must be a collection of states")
        chosen = None if states is None else frozenset(states)
        if chosen is not None and not all(isinstance(s, str) for s in chosen):
            raise ValidationError("ServiceRequest", "states", "must be state names")

        def read(ctx: Context) -> list[ServiceRequest]:
            criteria: dict[str, object] = {}
            if ctx.actor.roles == {Role.CUSTOMER}:
                criteria["customer_id"] = ctx.actor.customer_id
            elif customer_id is not None:
                criteria["customer_id"] = customer_id
            if engineer_id is not None:
                criteria["engineer_id"] = engineer_id
            if chosen is not None:
                criteria["state"] = chosen
            found = ctx.uow.requests.find(limit=limit, **criteria)
            for request in found:
                ctx.authorize("view", request)
            return found

        return self.query(actor, "view", read)

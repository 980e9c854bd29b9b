"""R30: the default role-based authorization, as a table you can replace or extend.

The policy decides from the directory's actor (roles, customer) and the target as loaded from
the store (its owner and assignee, named by its kind's declaration), never from what a caller
claims. An approval that needs a role (a discount, a dispatch approval, a retro-approval) is a
command the approver runs, so only the approver's own roles count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from aftersales.domain.kernel import Aggregate, AggregateKind
from aftersales.domain.records import Actor
from aftersales.domain.values import Role
from aftersales.errors import NotAuthorized

__all__ = ["DEFAULT_PERMISSIONS", "Permission", "RoleBasedPolicy"]


@attrs.frozen
class Permission:
    """Who may do an action.

    - ``roles``: any of these roles may act (subject to the two flags below);
    - ``assigned_only``: an ENGINEER must be the target's assignee (the engineer the request
      or repair order is assigned to);
    - ``own_only``: a CUSTOMER may act only on what their own customer owns.
    """

    roles: frozenset[Role]
    assigned_only: bool = False
    own_only: bool = True


def _p(*roles: Role, assigned: bool = False) -> Permission:
    return Permission(frozenset(roles), assigned_only=assigned)


C, E, S, REP, CU = Role.CLERK, Role.ENGINEER, Role.SUPERVISOR, Role.CUSTOMER_REP, Role.CUSTOMER

#: R30 defaults for every shipped command (the action is the command's ``name``): the clerk
#: registers and routes, only the assigned engineer does the technical steps, a supervisor
#: approves dispatches, discounts and replacements and manages the directory, the customer
#: (own files only) confirms and answers estimates.
DEFAULT_PERMISSIONS: Mapping[str, Permission] = {
    # the directory and the files (R1, R2, R4, R30)
    "register_actor": _p(S),
    "change_roles": _p(S),
    "deactivate_actor": _p(S),
    "reactivate_actor": _p(S),
    "register_customer": _p(C, REP),
    "register_equipment": _p(C, REP),
    "add_service_plan": _p(REP, S),
    # requests (R5-R12)
    "register_request": _p(C, REP),
    "route": _p(C, S),
    "assign": _p(C, S),
    "reject": _p(C, S),
    "cancel": _p(C, S),
    "start_remote": _p(E, assigned=True),
    "record_contact": _p(E, assigned=True),
    "escalate_onsite": _p(E, S, assigned=True),
    "hand_to_depot": _p(E, S, assigned=True),
    "start_onsite": _p(E, S, assigned=True),
    "confirm_need": _p(E, assigned=True),
    "approve_dispatch": _p(S),
    "dispatch_emergency": _p(E, assigned=True),
    "retro_approve": _p(S),
    "prepare": _p(E, assigned=True),
    "depart": _p(E, assigned=True),
    "record_arrival": _p(E, assigned=True),
    "record_work": _p(E, assigned=True),
    "sign_off": _p(E, assigned=True),
    "call_consultation": _p(E, assigned=True),
    "plan_revisit": _p(E, S, assigned=True),
    "reschedule": _p(C, E, S, assigned=True),
    "resolve": _p(E, assigned=True),
    "confirm": _p(CU, C, REP),
    "reopen": _p(CU, C, REP),
    "close": _p(C, S),
    # depot repair (R13, R15, R16, R20-R23, R25)
    "receive_at_depot": _p(C, REP, S),
    "assign_repair_engineer": _p(C, S),
    "sign_intake": _p(C, REP),
    "diagnose": _p(E, S, assigned=True),
    "reopen_diagnosis": _p(E, S, assigned=True),
    "send_estimate": _p(E, S, assigned=True),
    "approve_estimate": _p(CU, C, REP),
    "decline_estimate": _p(CU, C, REP),
    "start_repair": _p(E, assigned=True),
    "record_repair_work": _p(E, assigned=True),
    "fit_part": _p(E, assigned=True),
    "receive_deposit": _p(C, REP),
    "wait_for_parts": _p(E, S, assigned=True),
    "resume_repair": _p(E, assigned=True),
    "propose_additional_work": _p(E, S, assigned=True),
    "approve_additional_work": _p(CU, C, REP),
    "decline_additional_work": _p(CU, C, REP),
    "finish_repair": _p(E, assigned=True),
    "record_qc": _p(E, S, assigned=True),
    "rework": _p(E, S, assigned=True),
    "record_progress_check": _p(C, REP, E, S, assigned=True),
    "notify_delay": _p(C, REP, S),
    "mark_ready": _p(C, REP),
    "apply_discount": _p(S),
    "settle": _p(C, REP),
    "deliver": _p(C, REP),
    "close_order": _p(C, S),
    "declare_unrepairable": _p(E, S, assigned=True),
    "offer_replacement": _p(S, REP),
    "accept_replacement": _p(C, REP),
    "return_unrepaired": _p(C, REP),
    # outsourced repair (R14, R15)
    "send_to_vendor": _p(E, S, assigned=True),
    "register_vendor": _p(S),
    "choose_vendor": _p(C, S),
    "ship_to_vendor": _p(C, S),
    "chase_vendor": _p(C, REP, S),
    "vendor_returned": _p(C, E, S),
    "failed_unit_returned": _p(C, E, S),
    "reinspect": _p(E, S, assigned=True),
    "back_to_depot": _p(E, S, assigned=True),
    "record_vendor_failure": _p(C, E, S),
    "offer_replacement_after_vendors": _p(S, REP),
    "give_up_outsourcing": _p(S),
    # spare parts (R28)
    "add_part": _p(C, S),
    "open_stock_location": _p(S),
    "receive_stock": _p(C, S),
    "reserve_parts": _p(E, C, S, assigned=True),
    "issue_part": _p(E, C, S, assigned=True),
    "release_parts": _p(E, C, S, assigned=True),
    "return_defective_part": _p(E, C, S, assigned=True),
    "report_dead_on_arrival": _p(E, C, S, assigned=True),
    # queries
    "view": _p(C, E, S, REP, CU),
    "view_return_ledger": _p(C, E, S, REP),
    "view_stock": _p(C, E, S, REP),
}


@attrs.frozen
class RoleBasedPolicy:
    """An :class:`~aftersales.ports.AuthorizationPolicy` driven by a permission table.

    ``RoleBasedPolicy({**DEFAULT_PERMISSIONS, "close": Permission(frozenset({Role.SUPERVISOR}))})``
    changes one rule; an action missing from the table is refused.
    """

    permissions: Mapping[str, Permission] = attrs.field(factory=lambda: dict(DEFAULT_PERMISSIONS))

    def authorize(
        self, actor: Actor, action: str, target: Aggregate | None,
        kind: AggregateKind[Any] | None,
    ) -> None:
        """Allow if one of the actor's roles may do ``action`` on ``target``; else refuse."""
        entity = kind.entity if kind is not None else "records"
        label = getattr(target, "number", None) or (target.id if target is not None else "-")
        state = getattr(target, "state", None)
        state = str(state) if state is not None else None
        if not actor.active:
            raise NotAuthorized(actor.name, action, entity, label, state, "the actor is inactive")
        permission = self.permissions.get(action)
        if permission is None:
            raise NotAuthorized(actor.name, action, entity, label, state, "unknown action")
        held = actor.roles & permission.roles
        if not held:
            need = ", ".join(sorted(r.value for r in permission.roles))
            raise NotAuthorized(actor.name, action, entity, label, state, f"needs role {need}")
        reasons: list[str] = []
        for role in sorted(held):
            if role is Role.ENGINEER and permission.assigned_only and kind is not None and (
                kind.assignee_field is not None
            ):
                if kind.assignee_of(target) == actor.id:
                    return
                reasons.append("only the assigned engineer may do this")
                continue
            if role is Role.CUSTOMER and permission.own_only and kind is not None:
                owner = kind.owner_of(target) if kind.owner_field is not None else None
                if actor.customer_id is not None and owner == actor.customer_id:
                    return
                reasons.append("a customer may act only on what is their own")
                continue
            if role is Role.CUSTOMER and target is None and permission.own_only:
                reasons.append("a customer may act only on what is their own")
                continue
            return
        raise NotAuthorized(actor.name, action, entity, label, state, "; ".join(reasons))

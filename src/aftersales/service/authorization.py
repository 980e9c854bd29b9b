"""R30: the default role-based authorization, as a table you can replace or extend."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from aftersales.domain.request import ServiceRequest
from aftersales.domain.values import Actor, Role
from aftersales.errors import NotAuthorized

__all__ = ["DEFAULT_PERMISSIONS", "Permission", "RoleBasedPolicy"]


@attrs.frozen
class Permission:
    """Who may do an action.

    - ``roles``: any of these roles may act (subject to the two flags below);
    - ``assigned_engineer_only``: an ENGINEER must be the request's assigned engineer;
    - ``own_request_only``: a CUSTOMER may act only on a request of their own customer.
    """

    roles: frozenset[Role]
    assigned_engineer_only: bool = False
    own_request_only: bool = True


def _p(*roles: Role, assigned: bool = False) -> Permission:
    return Permission(frozenset(roles), assigned_engineer_only=assigned)


C, E, S, REP, CU = Role.CLERK, Role.ENGINEER, Role.SUPERVISOR, Role.CUSTOMER_REP, Role.CUSTOMER

#: R30 defaults: the clerk registers and routes, only the assigned engineer records work, a
#: supervisor approves dispatches, the customer (or staff on their behalf) confirms.
DEFAULT_PERMISSIONS: Mapping[str, Permission] = {
    "register_customer": _p(C, REP),
    "register_equipment": _p(C, REP),
    "add_service_plan": _p(REP, S),
    "register_actor": _p(S),
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
    "complete_depot": _p(E, S),
    "confirm": _p(CU, C, REP),
    "reopen": _p(CU, C, REP),
    "close": _p(C, S),
    "view": _p(C, E, S, REP, CU),
}


@attrs.frozen
class RoleBasedPolicy:
    """An :class:`~aftersales.ports.AuthorizationPolicy` driven by a permission table."""

    permissions: Mapping[str, Permission] = attrs.field(factory=lambda: dict(DEFAULT_PERMISSIONS))

    def authorize(self, actor: Actor, action: str, request: ServiceRequest | None) -> None:
        """Allow if one of the actor's roles may do ``action`` on ``request``; else refuse."""
        entity = "ServiceRequest" if request is not None else "records"
        rid = request.number if request is not None else "-"
        state = str(request.state) if request is not None else None
        permission = self.permissions.get(action)
        if permission is None:
            raise NotAuthorized(actor.name, action, entity, rid, state, "unknown action")
        held = actor.roles & permission.roles
        if not held:
            need = ", ".join(sorted(r.value for r in permission.roles))
            raise NotAuthorized(actor.name, action, entity, rid, state, f"needs role {need}")
        reasons: list[str] = []
        for role in held:
            if role is Role.ENGINEER and permission.assigned_engineer_only and request is not None:
                if request.engineer_id == actor.id:
                    return
                reasons.append("only the assigned engineer may do this")
                continue
            if role is Role.CUSTOMER and permission.own_request_only and request is not None:
                if actor.customer_id is not None and actor.customer_id == request.customer_id:
                    return
                reasons.append("a customer may act only on their own requests")
                continue
            return
        raise NotAuthorized(actor.name, action, entity, rid, state, "; ".join(sorted(reasons)))

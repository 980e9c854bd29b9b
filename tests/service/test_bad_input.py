"""Every ServiceDesk command refuses bad input and changes nothing when it does.

For each command: (a) an impossible transition raises InvalidTransition (or GuardFailed),
(b) an unknown id raises NotFound, (c) a missing or malformed field raises ValidationError,
(d) an actor without the right role raises NotAuthorized. In every case the store (requests
with their state, version and record; the records; the committed events) is unchanged, and
the message names the entity, its state and the attempted action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from aftersales import ManualClock, SequentialIds, in_memory_desk
from aftersales.domain import (
    Actor,
    Address,
    Channel,
    Contact,
    Impact,
    Money,
    Role,
    ServiceRequest,
    Urgency,
)
from aftersales.errors import (
    InvalidTransition,
    NotAuthorized,
    NotFound,
    ValidationError,
)
from aftersales.serialization import make_converter

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=2)
NAIVE = datetime(2026, 3, 4, 10, 0)
UNKNOWN = UUID(int=987_654_321)
CONVERTER = make_converter()


class World:
    """A desk with one person per role and two customers, each with a unit."""

    def __init__(self) -> None:
        self.clock = ManualClock(T0, step=timedelta(minutes=5))
        self.boss = Actor(UUID(int=10_000), "Zhang Supervisor", {Role.SUPERVISOR})
        self.desk, self.store = in_memory_desk(
            supervisor=self.boss, clock=self.clock, ids=SequentialIds()
        )
        desk = self.desk
        self.clerk = desk.register_actor(self.boss, name="Li Clerk", roles={Role.CLERK})
        self.engineer = desk.register_actor(self.boss, name="Wang Engineer", roles={Role.ENGINEER})
        self.other_engineer = desk.register_actor(
            self.boss, name="Chen Engineer", roles={Role.ENGINEER}
        )
        self.customer = desk.register_customer(self.clerk, name="ACME Ltd")
        self.other_customer = desk.register_customer(self.clerk, name="Globex Ltd")
        self.contact = desk.register_actor(
            self.boss, name="Mr Zhao", roles={Role.CUSTOMER}, customer_id=self.customer.id
        )
        self.stranger = desk.register_actor(
            self.boss, name="Ms Qian", roles={Role.CUSTOMER}, customer_id=self.other_customer.id
        )
        self.unit = desk.register_equipment(
            self.clerk, serial="SN-1", model="X200", owner_id=self.customer.id
        )
        self.other_unit = desk.register_equipment(
            self.clerk, serial="SN-2", model="X200", owner_id=self.other_customer.id
        )

    def at(self, stage: str) -> UUID:
        """A new request driven to ``stage`` (see STAGES)."""
        rid = self.desk.register_request(
            self.clerk, customer_id=self.customer.id, summary="printer down"
        ).id
        for step in STAGES[stage]:
            STEPS[step](self, rid)
        return rid

    def snapshot(self) -> Any:
        s = self.store
        return (
            {k: CONVERTER.unstructure(v) for k, v in s.requests.items()},
            {k: CONVERTER.unstructure(v) for k, v in s.customers.items()},
            {k: CONVERTER.unstructure(v) for k, v in s.equipment.items()},
            {k: CONVERTER.unstructure(v) for k, v in s.actors.items()},
            dict(s.numbers),
            list(s.events),
        )


STEPS: dict[str, Callable[[World, UUID], object]] = {
    "assign": lambda w, r: w.desk.assign(w.clerk, r, engineer_id=w.engineer.id),
    "start_remote": lambda w, r: w.desk.start_remote(w.engineer, r),
    "start_onsite": lambda w, r: w.desk.start_onsite(w.engineer, r, promised_at=LATER),
    "confirm_need": lambda w, r: w.desk.confirm_need(w.engineer, r),
    "approve": lambda w, r: w.desk.approve_dispatch(w.boss, r),
    "emergency": lambda w, r: w.desk.dispatch_emergency(w.engineer, r, reason="line down"),
    "prepare": lambda w, r: w.desk.prepare(w.engineer, r),
    "depart": lambda w, r: w.desk.depart(w.engineer, r),
    "arrive": lambda w, r: w.desk.record_arrival(w.engineer, r),
    "consult": lambda w, r: w.desk.call_consultation(w.engineer, r, reason="odd fault"),
    "sign": lambda w, r: w.desk.sign_off(w.engineer, r, found="f", result="ok", signed_by="Zhao"),
    "resolve": lambda w, r: w.desk.resolve(w.engineer, r, resolution="fixed"),
    "confirm": lambda w, r: w.desk.confirm(w.contact, r),
    "close": lambda w, r: w.desk.close(w.clerk, r),
    "depot": lambda w, r: w.desk.hand_to_depot(w.engineer, r, reason="bench repair"),
}

_ONSITE = ["assign", "start_onsite"]
_ON_SITE = [*_ONSITE, "confirm_need", "approve", "prepare", "depart", "arrive"]
STAGES: dict[str, list[str]] = {
    "registered": [],
    "assigned": ["assign"],
    "remote": ["assign", "start_remote"],
    "planned": _ONSITE,
    "awaiting_approval": [*_ONSITE, "confirm_need"],
    "approved": [*_ONSITE, "confirm_need", "approve"],
    "preparing": [*_ONSITE, "confirm_need", "approve", "prepare"],
    "travelling": [*_ONSITE, "confirm_need", "approve", "prepare", "depart"],
    "on_site": _ON_SITE,
    "consultation": [*_ON_SITE, "consult"],
    "emergency": [*_ONSITE, "confirm_need", "emergency"],
    "emergency_confirmed": [*_ONSITE, "confirm_need", "emergency", "arrive", "sign", "resolve",
                            "confirm"],
    "resolved": ["assign", "start_remote", "resolve"],
    "confirmed": ["assign", "start_remote", "resolve", "confirm"],
    "closed": ["assign", "start_remote", "resolve", "confirm", "close"],
    "depot": ["assign", "start_remote", "depot"],
}


@dataclass(frozen=True)
class Command:
    """How to call one request command, where it is possible, and what breaks it."""

    name: str
    by: str  # World attribute of an actor allowed to do it
    refused: str  # World attribute of an actor who is not
    ready: str  # a stage where the command succeeds
    impossible: str  # a stage where it is an impossible transition
    action: str  # how the refusal message names the attempted action
    defaults: dict[str, Any] = field(default_factory=dict)
    bad: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __call__(self, world: World, actor: Any, rid: Any, **overrides: Any) -> ServiceRequest:
        kwargs = {k: v(world) if callable(v) else v for k, v in {**self.defaults,
                                                                 **overrides}.items()}
        result: ServiceRequest = getattr(world.desk, self.name)(actor, rid, **kwargs)
        return result


BLANK = {"blank": "  ", "wrong type": 42}

COMMANDS = [
    Command("route", "clerk", "engineer", "registered", "resolved", "route",
            {"department": "printers"}, {f"department {k}": {"department": v}
                                         for k, v in BLANK.items()}),
    Command("assign", "clerk", "engineer", "registered", "remote", "assign",
            {"engineer_id": lambda w: w.engineer.id},
            {"non-engineer assignee": {"engineer_id": lambda w: w.clerk.id},
             "customer as assignee": {"engineer_id": lambda w: w.contact.id}}),
    Command("reject", "clerk", "engineer", "registered", "assigned", "reject",
            {"reason": "not our product"}, {f"reason {k}": {"reason": v}
                                            for k, v in BLANK.items()}),
    Command("cancel", "clerk", "contact", "assigned", "closed", "cancel",
            {"reason": "customer withdrew"}, {"reason blank": {"reason": ""}}),
    Command("start_remote", "engineer", "other_engineer", "assigned", "remote", "start"),
    Command("record_contact", "engineer", "other_engineer", "remote", "planned",
            "record contact", {"channel": Channel.PHONE, "summary": "called"},
            {"channel as text": {"channel": "phone"}, "summary blank": {"summary": " "},
             "summary wrong type": {"summary": None}}),
    Command("escalate_onsite", "engineer", "clerk", "remote", "planned", "escalate onsite",
            {"reason": "hardware"},
            {"reason blank": {"reason": ""}, "naive promised_at": {"promised_at": NAIVE},
             "promised_at as date": {"promised_at": date(2026, 3, 4)}}),
    Command("hand_to_depot", "engineer", "clerk", "remote", "assigned", "hand to depot",
            {"reason": "bench repair"}, {"reason blank": {"reason": "\t"}}),
    Command("start_onsite", "engineer", "clerk", "assigned", "remote", "start",
            {"promised_at": LATER}, {"naive promised_at": {"promised_at": NAIVE},
                                     "promised_at as text": {"promised_at": "tomorrow"}}),
    Command("confirm_need", "engineer", "boss", "planned", "awaiting_approval", "confirm need",
            {}, {"note wrong type": {"note": 5}}),
    Command("approve_dispatch", "boss", "engineer", "awaiting_approval", "planned", "approve"),
    Command("dispatch_emergency", "engineer", "boss", "awaiting_approval", "approved",
            "dispatch emergency", {"reason": "line down"}, {"reason blank": {"reason": ""}}),
    Command("retro_approve", "boss", "engineer", "emergency", "approved", "retro approve"),
    Command("prepare", "engineer", "clerk", "approved", "awaiting_approval", "prepare",
            {}, {"note wrong type": {"note": ["spares"]}}),
    Command("depart", "engineer", "other_engineer", "preparing", "approved", "depart"),
    Command("record_arrival", "engineer", "clerk", "travelling", "preparing", "arrive"),
    Command("record_work", "engineer", "other_engineer", "on_site", "travelling", "record work",
            {"description": "replaced fuser"}, {"description blank": {"description": ""}}),
    Command("sign_off", "engineer", "clerk", "on_site", "travelling", "sign off",
            {"found": "worn fuser", "result": "ok", "signed_by": "Mr Zhao"},
            {"rating 9": {"rating": 9}, "rating 0": {"rating": 0},
             "rating as bool": {"rating": True}, "rating as text": {"rating": "5"},
             "found blank": {"found": ""}, "signed_by blank": {"signed_by": " "},
             "result wrong type": {"result": 1},
             "fee as Decimal": {"fee": Decimal("10")}, "fee as float": {"fee": 10.0},
             "blank part": {"parts_replaced": ("fuser", "")},
             "parts as text": {"parts_replaced": "fuser"}}),
    Command("call_consultation", "engineer", "clerk", "on_site", "travelling",
            "call consultation", {"reason": "intermittent"}, {"reason blank": {"reason": ""}}),
    Command("plan_revisit", "engineer", "clerk", "consultation", "on_site", "plan revisit",
            {"plan": "bring spares", "promised_at": LATER},
            {"plan blank": {"plan": ""}, "naive promised_at": {"promised_at": NAIVE},
             "promised_at missing": {"promised_at": None}}),
    Command("reschedule", "clerk", "contact", "planned", "on_site", "reschedule",
            {"new_time": LATER, "reason": "no engineer free"},
            {"naive new_time": {"new_time": NAIVE}, "reason blank": {"reason": ""},
             "new_time as text": {"new_time": "2026-03-04T10:00+00:00"}}),
    Command("resolve", "engineer", "clerk", "remote", "planned", "resolve",
            {"resolution": "fixed"}, {"resolution blank": {"resolution": ""}}),
    Command("complete_depot", "engineer", "clerk", "depot", "remote", "depot completed",
            {"resolution": "board replaced"}, {"resolution blank": {"resolution": " "}}),
    Command("confirm", "contact", "engineer", "resolved", "remote", "confirm",
            {}, {"note wrong type": {"note": 3}}),
    Command("reopen", "contact", "engineer", "resolved", "confirmed", "reopen",
            {"reason": "still jams"}, {"reason blank": {"reason": ""}}),
    Command("close", "clerk", "engineer", "confirmed", "resolved", "close"),
]
BY_NAME = {c.name: c for c in COMMANDS}

KNOWN_BUGS: dict[str, str] = {}

BAD_FIELDS = [
    pytest.param(
        c, overrides, id=f"{c.name}-{label}",
        marks=[pytest.mark.xfail(strict=True, reason=f"BUG: {KNOWN_BUGS[key]}")]
        if (key := f"{c.name}-{label}") in KNOWN_BUGS else [],
    )
    for c in COMMANDS
    for label, overrides in c.bad.items()
]


@pytest.fixture
def world() -> World:
    return World()


def _actor(world: World, name: str) -> Actor:
    actor: Actor = getattr(world, name)
    return actor


def test_every_request_command_of_the_desk_is_covered() -> None:
    public = {n for n in dir(World().desk) if not n.startswith("_")}
    records = {"register_request", "register_customer", "register_equipment",
               "register_actor", "add_service_plan"}
    queries = {"warranty", "get_request", "find_requests"}
    wiring = {"uow_factory", "clock", "ids", "authorization", "publisher", "priority_matrix",
              "warranty_policy", "max_attempts", "execute"}
    assert public - records - queries - wiring == set(BY_NAME)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_the_command_succeeds_from_its_ready_stage(world: World, command: Command) -> None:
    rid = world.at(command.ready)
    version = world.store.requests[rid].version
    request = command(world, _actor(world, command.by), rid)
    assert request.version == world.store.requests[rid].version == version + 1
    assert world.store.events[-1].request_id == rid


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_an_impossible_transition_is_refused_and_changes_nothing(
    world: World, command: Command
) -> None:
    rid = world.at(command.impossible)
    before = world.snapshot()
    with pytest.raises(InvalidTransition) as refused:
        command(world, _actor(world, command.by), rid)
    assert world.snapshot() == before
    error = refused.value
    message = str(error)
    request = world.store.requests[rid]
    subject_states = {str(request.state)} | {str(j.state) for j in request.jobs}
    assert error.entity in {"ServiceRequest", "RemoteJob", "OnSiteJob"}
    assert error.entity in message
    assert request.number in message  # the request is named by its service number
    assert str(error.entity_id) in message
    assert any(state in message for state in subject_states)
    assert error.state.split(" ")[0] in subject_states
    assert f"cannot {command.action}" in message


def test_closing_with_an_unapproved_emergency_dispatch_is_a_guard_failure(world: World) -> None:
    from aftersales.errors import GuardFailed

    rid = world.at("emergency_confirmed")
    before = world.snapshot()
    with pytest.raises(GuardFailed, match=r"ServiceRequest .* is confirmed: cannot close: .*R12"):
        BY_NAME["close"](world, world.clerk, rid)
    assert world.snapshot() == before


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_an_unknown_request_is_not_found_and_changes_nothing(
    world: World, command: Command
) -> None:
    world.at(command.ready)
    before = world.snapshot()
    with pytest.raises(NotFound) as missing:
        command(world, _actor(world, command.by), UNKNOWN)
    assert world.snapshot() == before
    assert "ServiceRequest" in str(missing.value)
    assert str(UNKNOWN) in str(missing.value)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_a_request_id_of_the_wrong_type_is_a_validation_error(
    world: World, command: Command
) -> None:
    before = world.snapshot()
    with pytest.raises(ValidationError):
        command(world, _actor(world, command.by), "SR-0001")
    assert world.snapshot() == before


def test_assigning_an_unknown_engineer_is_not_found(world: World) -> None:
    rid = world.at("registered")
    before = world.snapshot()
    with pytest.raises(NotFound, match=f"Actor {UNKNOWN}"):
        world.desk.assign(world.clerk, rid, engineer_id=UNKNOWN)
    assert world.snapshot() == before


@pytest.mark.parametrize(("command", "overrides"), BAD_FIELDS)
def test_a_malformed_field_is_a_validation_error_and_changes_nothing(
    world: World, command: Command, overrides: dict[str, Any]
) -> None:
    rid = world.at(command.ready)
    before = world.snapshot()
    with pytest.raises(ValidationError) as invalid:
        command(world, _actor(world, command.by), rid, **overrides)
    assert world.snapshot() == before
    assert invalid.value.entity in str(invalid.value)
    assert invalid.value.field in str(invalid.value)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            c, id=c.name,
        )
        for c in COMMANDS
    ],
)
def test_an_actor_that_is_not_an_actor_is_a_validation_error(
    world: World, command: Command
) -> None:
    rid = world.at(command.ready)
    before = world.snapshot()
    with pytest.raises(ValidationError, match="actor"):
        command(world, world.engineer.id, rid)
    assert world.snapshot() == before


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
@pytest.mark.parametrize("key", ["", "   ", 7], ids=["empty", "blank", "int"])
def test_a_malformed_idempotency_key_is_a_validation_error(
    world: World, command: Command, key: object
) -> None:
    rid = world.at(command.ready)
    before = world.snapshot()
    with pytest.raises(ValidationError, match="idempotency_key"):
        command(world, _actor(world, command.by), rid, idempotency_key=key)
    assert world.snapshot() == before


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_an_actor_without_the_right_role_is_not_authorized_and_changes_nothing(
    world: World, command: Command
) -> None:
    rid = world.at(command.ready)
    outsider = _actor(world, command.refused)
    before = world.snapshot()
    with pytest.raises(NotAuthorized) as refused:
        command(world, outsider, rid)
    assert world.snapshot() == before
    message = str(refused.value)
    request = world.store.requests[rid]
    where = f"ServiceRequest {request.number} ({request.state})"
    assert f"{outsider.name} may not {command.name} on {where}" in message


@pytest.mark.parametrize(
    "command", ["confirm", "reopen"], ids=str,
)
def test_a_customer_acts_only_on_their_own_request(world: World, command: str) -> None:
    rid = world.at("resolved")
    before = world.snapshot()
    with pytest.raises(NotAuthorized, match="only on their own requests"):
        BY_NAME[command](world, world.stranger, rid)
    assert world.snapshot() == before


# --- record commands: register_request, register_customer, register_equipment, register_actor


RecordCall = Callable[[World, Any, dict[str, Any]], object]


def _register_request(w: World, actor: Any, kw: dict[str, Any]) -> object:
    fields = {"customer_id": w.customer.id, "summary": "printer down", **kw}
    return w.desk.register_request(actor, **fields)


def _register_customer(w: World, actor: Any, kw: dict[str, Any]) -> object:
    return w.desk.register_customer(actor, **{"name": "Initech", **kw})


def _register_equipment(w: World, actor: Any, kw: dict[str, Any]) -> object:
    fields = {"serial": "SN-99", "model": "X300", "owner_id": w.customer.id, **kw}
    return w.desk.register_equipment(actor, **fields)


def _register_actor(w: World, actor: Any, kw: dict[str, Any]) -> object:
    return w.desk.register_actor(actor, **{"name": "Zhou", "roles": {Role.ENGINEER}, **kw})


RECORDS: dict[str, tuple[RecordCall, str, str]] = {
    # name: (call, allowed actor, refused actor)
    "register_request": (_register_request, "clerk", "engineer"),
    "register_customer": (_register_customer, "clerk", "contact"),
    "register_equipment": (_register_equipment, "clerk", "engineer"),
    "register_actor": (_register_actor, "boss", "clerk"),
}


def _resolve(world: World, kw: dict[str, Any]) -> dict[str, Any]:
    return {k: v(world) if callable(v) else v for k, v in kw.items()}


@pytest.mark.parametrize("name", list(RECORDS))
def test_a_record_command_succeeds_with_good_input(world: World, name: str) -> None:
    call, by, _ = RECORDS[name]
    before = world.snapshot()
    call(world, _actor(world, by), {})
    assert world.snapshot() != before


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        pytest.param("register_request", {"customer_id": UNKNOWN}, id="request-customer"),
        pytest.param("register_request", {"equipment_id": UNKNOWN}, id="request-equipment"),
        pytest.param("register_equipment", {"owner_id": UNKNOWN}, id="equipment-owner"),
        pytest.param(
            "register_actor", {"roles": {Role.CUSTOMER}, "customer_id": UNKNOWN},
            id="actor-customer",
        ),
    ],
)
def test_a_record_command_naming_an_unknown_id_is_not_found(
    world: World, name: str, overrides: dict[str, Any]
) -> None:
    call, by, _ = RECORDS[name]
    before = world.snapshot()
    with pytest.raises(NotFound, match=str(UNKNOWN)):
        call(world, _actor(world, by), overrides)
    assert world.snapshot() == before


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        pytest.param("register_request", {"summary": " "}, id="request-summary-blank"),
        pytest.param("register_request", {"summary": None}, id="request-summary-missing"),
        pytest.param("register_request", {"impact": 9}, id="request-impact-9"),
        pytest.param("register_request", {"urgency": "high"}, id="request-urgency-text"),
        pytest.param("register_request", {"category": "fault"}, id="request-category-text"),
        pytest.param("register_request", {"channel": 1}, id="request-channel-int"),
        pytest.param("register_request", {"equipment_id": lambda w: w.other_unit.id},
                     id="request-equipment-of-another-customer"),
        pytest.param("register_customer", {"name": ""}, id="customer-name-blank"),
        pytest.param("register_customer", {"kind": "person"}, id="customer-kind-text"),
        pytest.param("register_customer", {"tier": 1}, id="customer-tier-int"),
        pytest.param(
            "register_customer", {"contacts": ["Peter, 555-1234"]}, id="customer-contact-text",
        ),
        pytest.param(
            "register_customer", {"addresses": "Floor 3"}, id="customer-address-text",
        ),
        pytest.param("register_equipment", {"serial": ""}, id="equipment-serial-blank"),
        pytest.param("register_equipment", {"model": None}, id="equipment-model-missing"),
        pytest.param("register_equipment", {"installed_on": "2025-01-01"},
                     id="equipment-date-text"),
        pytest.param("register_equipment", {"invoice_ref": 5}, id="equipment-invoice-int"),
        pytest.param("register_actor", {"name": " "}, id="actor-name-blank"),
        pytest.param("register_actor", {"roles": ["engineer"]}, id="actor-roles-text"),
        pytest.param("register_actor", {"roles": []}, id="actor-no-role"),
        pytest.param(
            "register_actor", {"roles": {Role.CUSTOMER}, "customer_id": "ACME"},
            id="actor-customer-id-text",
        ),
    ],
)
def test_a_record_command_with_a_malformed_field_is_a_validation_error(
    world: World, name: str, overrides: dict[str, Any]
) -> None:
    call, by, _ = RECORDS[name]
    before = world.snapshot()
    with pytest.raises(ValidationError):
        call(world, _actor(world, by), _resolve(world, overrides))
    assert world.snapshot() == before


@pytest.mark.parametrize("name", list(RECORDS))
def test_a_record_command_by_an_actor_without_the_role_is_not_authorized(
    world: World, name: str
) -> None:
    call, _, refused = RECORDS[name]
    outsider = _actor(world, refused)
    before = world.snapshot()
    with pytest.raises(NotAuthorized, match=f"{outsider.name} may not {name} on records"):
        call(world, outsider, {})
    assert world.snapshot() == before


@pytest.mark.parametrize("name", list(RECORDS))
def test_a_record_command_by_something_that_is_not_an_actor_is_a_validation_error(
    world: World, name: str
) -> None:
    call, _, _ = RECORDS[name]
    with pytest.raises(ValidationError, match="actor"):
        call(world, None, {})


def test_register_request_accepts_equipment_with_no_owner_on_file(world: World) -> None:
    loose = world.desk.register_equipment(world.clerk, serial="LOOSE", model="X1")
    request = _register_request(world, world.clerk, {"equipment_id": loose.id})
    assert isinstance(request, ServiceRequest)
    assert request.equipment_id == loose.id


def test_register_request_validates_impact_and_urgency_together(world: World) -> None:
    before = world.snapshot()
    with pytest.raises(ValidationError, match="urgency"):
        _register_request(world, world.clerk, {"impact": Impact.MINOR, "urgency": 0})
    assert world.snapshot() == before
    ok = _register_request(world, world.clerk, {"impact": Impact.MINOR, "urgency": Urgency.LOW})
    assert isinstance(ok, ServiceRequest)


def test_contacts_and_addresses_of_the_right_type_are_accepted(world: World) -> None:
    customer = _register_customer(
        world, world.clerk, {"contacts": (Contact("Peter"),), "addresses": [Address("Floor 3")]}
    )
    assert world.store.customers[customer.id].contacts == (Contact("Peter"),)  # type: ignore[attr-defined]


def test_a_fee_in_money_is_accepted_on_the_service_report(world: World) -> None:
    rid = world.at("on_site")
    request = BY_NAME["sign_off"](world, world.engineer, rid,
                                  fee=Money(Decimal("80.00"), "CNY"), rating=5)
    assert request.current_job.report.fee == Money(Decimal("80.00"), "CNY")  # type: ignore[union-attr]

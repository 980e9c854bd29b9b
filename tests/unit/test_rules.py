"""Unit tests per rule of DOMAIN.md (R1-R30), named after the rule they check.

Domain rules are exercised on the domain and workflow steps directly; the service rules
(R7, R9-R12, R30) go through an in-memory :class:`ServiceDesk` with a manual clock and
sequential ids. No mocks, no timed assertions.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs
import pytest

from aftersales import ManualClock, SequentialIds, in_memory_desk
from aftersales.domain import (
    Actor,
    Address,
    Category,
    Channel,
    Contact,
    Customer,
    CustomerKind,
    CustomerTier,
    DispatchApproval,
    Equipment,
    Exclusion,
    Impact,
    Money,
    OnSiteJob,
    OnSiteState,
    PriorityMatrix,
    RemoteJob,
    RemoteState,
    RequestState,
    Role,
    ServicePlan,
    ServiceRequest,
    Urgency,
    WarrantyBasis,
    WarrantyPolicy,
)
from aftersales.domain.request import REQUESTS
from aftersales.domain.values import require_aware
from aftersales.errors import (
    ConfigurationError,
    GuardFailed,
    InvalidTransition,
    NotAuthorized,
    ValidationError,
)
from aftersales.workflows import steps, verify_record

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class World:
    """A fresh in-memory desk with a supervisor, a clerk, two engineers, two customers."""

    def __init__(self, **desk_options: Any) -> None:
        self.clock = ManualClock(T0, step=timedelta(minutes=5))
        self.boss = Actor(UUID(int=10_000), "Zhang Supervisor", {Role.SUPERVISOR})
        self.desk, self.store = in_memory_desk(
            supervisor=self.boss, clock=self.clock, ids=SequentialIds(), **desk_options
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

    def request(self, **options: object) -> ServiceRequest:
        fields: dict[str, object] = {"customer_id": self.customer.id, "summary": "printer down"}
        fields.update(options)
        return self.desk.register_request(self.clerk, **fields)  # type: ignore[arg-type]

    def assigned(self) -> UUID:
        rid = self.request().id
        self.desk.assign(self.clerk, rid, engineer_id=self.engineer.id)
        return rid

    def remote(self) -> UUID:
        rid = self.assigned()
        self.desk.start_remote(self.engineer, rid)
        return rid

    def awaiting_approval(self) -> UUID:
        rid = self.assigned()
        self.desk.start_onsite(self.engineer, rid, promised_at=T0 + timedelta(days=1))
        self.desk.confirm_need(self.engineer, rid)
        return rid

    def on_site(self) -> UUID:
        rid = self.awaiting_approval()
        self.desk.approve_dispatch(self.boss, rid)
        self.desk.prepare(self.engineer, rid, note="fuser kit")
        self.desk.depart(self.engineer, rid)
        self.desk.record_arrival(self.engineer, rid)
        return rid

    def signed(self) -> UUID:
        rid = self.on_site()
        self.desk.sign_off(self.engineer, rid, found="worn fuser", result="replaced",
                           signed_by="Mr Zhao", rating=5)
        return rid

    def get(self, rid: UUID) -> ServiceRequest:
        return self.desk.get_request(self.boss, rid)


@pytest.fixture
def world() -> World:
    return World()


def _onsite(request: ServiceRequest) -> OnSiteJob:
    job = request.current_job
    assert isinstance(job, OnSiteJob)
    return job


def _remote(request: ServiceRequest) -> RemoteJob:
    job = request.jobs[0]
    assert isinstance(job, RemoteJob)
    return job


# --- R1, R2, R4: records ---------------------------------------------------------------------


def test_r1_customer_file_keeps_kind_tier_contacts_and_addresses() -> None:
    customer = Customer(
        UUID(int=1), "Zhao Wei", CustomerKind.PERSON, CustomerTier.KEY_ACCOUNT,
        contacts=(Contact("Zhao Wei", phone="+86 10 1234", email="zw@example.com"),),
        addresses=(Address("1 Chang'an Ave", city="Beijing", country="CN"),),
    )
    assert customer.kind is CustomerKind.PERSON
    assert customer.tier is CustomerTier.KEY_ACCOUNT
    assert customer.contacts[0].phone == "+86 10 1234"
    assert customer.addresses[0].city == "Beijing"


def test_r1_a_customer_file_is_an_organisation_of_standard_tier_by_default() -> None:
    customer = Customer(UUID(int=1), "ACME")
    assert (customer.kind, customer.tier) == (CustomerKind.ORGANISATION, CustomerTier.STANDARD)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Customer(UUID(int=1), "  "),
        lambda: Contact(""),
        lambda: Address(" "),
        lambda: Equipment(UUID(int=2), "", "X200"),
        lambda: Equipment(UUID(int=2), "SN", "  "),
    ],
    ids=["customer-name", "contact-name", "address-line", "equipment-serial", "equipment-model"],
)
def test_r1_r2_records_refuse_blank_names(build: object) -> None:
    with pytest.raises(ValidationError):
        build()  # type: ignore[operator]


def test_r1_the_desk_opens_a_customer_file_with_its_contacts(world: World) -> None:
    customer = world.desk.register_customer(
        world.clerk, name="Initech", kind=CustomerKind.ORGANISATION,
        tier=CustomerTier.VIP, contacts=[Contact("Peter")], addresses=[Address("Floor 3")],
    )
    stored = world.store.customers[customer.id]
    assert stored.tier is CustomerTier.VIP
    assert stored.contacts == (Contact("Peter"),)
    assert stored.addresses == (Address("Floor 3"),)


def test_r2_equipment_file_keeps_every_field_including_other_makers(world: World) -> None:
    unit = world.desk.register_equipment(
        world.clerk, serial="HP-77", model="LaserJet 4", owner_id=world.customer.id,
        installed_on=date(2025, 5, 1), purchased_on=date(2025, 4, 20), invoice_ref="INV-9",
        produced_on=date(2025, 1, 3), product_line="printers", maker="HP",
        hardware_version="rev B", software_version="2.1", location="3F", user="front desk",
        asset_label="A-0042",
    )
    stored = world.store.equipment[unit.id]
    assert (stored.maker, stored.product_line, stored.asset_label) == ("HP", "printers", "A-0042")
    assert (stored.hardware_version, stored.software_version) == ("rev B", "2.1")
    assert (stored.location, stored.user) == ("3F", "front desk")
    assert stored.installed_on == date(2025, 5, 1)
    assert stored.has_invoice


def test_r2_an_invoice_needs_both_a_reference_and_a_purchase_date() -> None:
    assert not Equipment(UUID(int=1), "S", "M", invoice_ref="INV").has_invoice
    assert not Equipment(UUID(int=1), "S", "M", purchased_on=date(2025, 1, 1)).has_invoice
    assert Equipment(
        UUID(int=1), "S", "M", invoice_ref="INV", purchased_on=date(2025, 1, 1)
    ).has_invoice


def test_r4_a_service_plan_covers_its_equipment_within_its_period_inclusive() -> None:
    plan = ServicePlan(
        UUID(int=1), UUID(int=2), date(2026, 1, 1), date(2026, 12, 31),
        equipment_ids=[UUID(int=3)], callback_every=timedelta(days=30),
    )
    assert plan.covers(UUID(int=3), date(2026, 1, 1))
    assert plan.covers(UUID(int=3), date(2026, 12, 31))
    assert not plan.covers(UUID(int=3), date(2025, 12, 31))
    assert not plan.covers(UUID(int=3), date(2027, 1, 1))
    assert not plan.covers(UUID(int=4), date(2026, 6, 1))


def test_r4_a_service_plan_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValidationError, match="ends_on"):
        ServicePlan(UUID(int=1), UUID(int=2), date(2026, 2, 1), date(2026, 1, 1))


# --- Money and time -------------------------------------------------------------------------


def test_money_adds_and_subtracts_decimals_of_one_currency() -> None:
    total = Money(Decimal("10.10"), "CNY") + Money(Decimal("0.20"), "CNY")
    assert total == Money(Decimal("10.30"), "CNY")
    assert total - Money(Decimal("0.30"), "CNY") == Money(Decimal("10.00"), "CNY")
    assert Money.zero("EUR") == Money(Decimal(0), "EUR")
    assert str(Money(Decimal("5.00"), "USD")) == "5.00 USD"


@pytest.mark.parametrize(
    "amount", [1.1, 1, "1.10", True, Decimal("NaN"), Decimal("Infinity")],
    ids=["float", "int", "str", "bool", "nan", "infinity"],
)
def test_money_accepts_only_finite_decimals(amount: object) -> None:
    with pytest.raises(ValidationError, match="amount"):
        Money(amount, "CNY")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["cny", "CN", "CNYY", "", 156])
def test_money_needs_an_iso_currency_code(currency: object) -> None:
    with pytest.raises(ValidationError, match="currency"):
        Money(Decimal(1), currency)  # type: ignore[arg-type]


def test_money_in_different_currencies_does_not_mix() -> None:
    with pytest.raises(ValidationError, match="cannot combine CNY with USD"):
        Money(Decimal(1), "CNY") + Money(Decimal(1), "USD")
    with pytest.raises(ValidationError):
        Money(Decimal(1), "CNY") - Money(Decimal(1), "USD")


def test_timezone_aware_datetimes_are_required() -> None:
    aware = datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert require_aware("X", "at", aware) is aware
    with pytest.raises(ValidationError, match="timezone-aware"):
        require_aware("X", "at", datetime(2026, 1, 1, 8))
    with pytest.raises(ValidationError, match="expected a datetime"):
        require_aware("X", "at", date(2026, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1, 8))
    with pytest.raises(ValidationError, match="timezone-aware"):
        ManualClock(aware).set(datetime(2026, 1, 2))


def test_timezone_aware_datetimes_are_required_by_every_step() -> None:
    clerk = Actor(UUID(int=1), "Clerk", {Role.CLERK})
    with pytest.raises(ValidationError, match="timezone-aware"):
        steps.register(
            request_id=UUID(int=2), number="SR-1", customer_id=UUID(int=3),
            category=Category.FAULT, channel=Channel.PHONE, impact=Impact.MINOR,
            urgency=Urgency.LOW, summary="noise", actor=clerk, at=datetime(2026, 1, 1),
            matrix=PriorityMatrix(),
        )


# --- R7: registration ---------------------------------------------------------------------


# --- R3, R5, R6: history, categories, channels --------------------------------------------


def test_r3_a_customers_service_history_is_queried_from_its_requests(world: World) -> None:
    first = world.request(summary="printer down")
    second = world.request(summary="scanner jams")
    world.request(customer_id=world.other_customer.id, summary="not theirs")
    history = world.desk.find_requests(world.clerk, customer_id=world.customer.id)
    assert [r.id for r in history] == [first.id, second.id]
    # the customer's own contact sees the same history and nobody else's
    own = world.desk.find_requests(world.contact, customer_id=world.other_customer.id)
    assert [r.id for r in own] == [first.id, second.id]


@pytest.mark.parametrize("category", list(Category))
def test_r5_every_category_is_accepted_and_kept(world: World, category: Category) -> None:
    assert world.request(category=category).category is category


def test_r5_an_unknown_category_is_refused_with_nothing_stored(world: World) -> None:
    before = len(world.store.events)
    with pytest.raises(ValidationError, match="category"):
        world.request(category="gossip")
    assert len(world.store.events) == before


@pytest.mark.parametrize("channel", list(Channel))
def test_r6_every_channel_is_accepted_and_kept(world: World, channel: Channel) -> None:
    assert world.request(channel=channel).channel is channel


def test_r6_an_unknown_channel_is_refused_with_nothing_stored(world: World) -> None:
    before = len(world.store.events)
    with pytest.raises(ValidationError, match="channel"):
        world.request(channel="pigeon")
    assert len(world.store.events) == before


def test_r7_every_request_gets_a_unique_service_number(world: World) -> None:
    requests = [world.request(summary=f"fault {n}") for n in range(5)]
    numbers = [r.number for r in requests]
    assert len(set(numbers)) == 5
    assert all(n.startswith("SR-20260302-") for n in numbers)
    with world.store.unit_of_work() as uow:
        found = {uow.requests.get_by("number", r.number).id for r in requests}
    assert found == {r.id for r in requests}


def test_r7_registration_leaves_an_issue_log_entry_and_event_before_any_work(
    world: World,
) -> None:
    request = world.request(category=Category.COMPLAINT, channel=Channel.WEB)
    (entry,) = request.record
    assert (entry.action, entry.from_state, entry.to_state) == ("register", None, "registered")
    assert entry.actor_id == world.clerk.id
    (event,) = [e for e in world.store.events if e.aggregate_id == request.id]
    assert event.name == "RequestRegistered"
    assert event.number == request.number  # type: ignore[attr-defined]
    assert request.category is Category.COMPLAINT and request.channel is Channel.WEB


def test_r7_a_duplicate_service_number_is_refused_and_nothing_is_stored() -> None:
    class SameNumber(SequentialIds):
        def number(self, prefix: str, at: datetime) -> str:
            return f"{prefix}-FIXED"

    boss = Actor(UUID(int=10_000), "Boss", {Role.SUPERVISOR, Role.CLERK})
    desk, store = in_memory_desk(supervisor=boss, clock=ManualClock(T0), ids=SameNumber())
    customer = desk.register_customer(boss, name="ACME")
    desk.register_request(boss, customer_id=customer.id, summary="first")
    before = (dict(store.requests), list(store.events))
    with pytest.raises(ValidationError, match="SR-FIXED"):
        desk.register_request(boss, customer_id=customer.id, summary="second")
    assert (dict(store.requests), list(store.events)) == before


def test_r7_a_request_is_routed_to_a_department(world: World) -> None:
    request = world.desk.route(world.clerk, world.request().id, department="printers")
    assert request.state == RequestState.ROUTED
    assert request.department == "printers"


# --- R8: priority: tests/unit/test_priority_matrix.py checks every cell of the matrix --


# --- R9: the record --------------------------------------------------------------------------


def test_r9_every_step_leaves_a_record_entry_with_who_when_from_to(world: World) -> None:
    rid = world.signed()
    world.desk.resolve(world.engineer, rid, resolution="fixed")
    world.desk.confirm(world.contact, rid)
    request = world.desk.close(world.clerk, rid)
    record = request.record
    assert [e.sequence for e in record] == list(range(1, len(record) + 1))
    assert verify_record(request) == []
    assert record[0].digest == record[0].expected_digest("")
    assert all(b.digest == b.expected_digest(a.digest) for a, b in itertools.pairwise(record))
    assert world.store.record_of(REQUESTS, rid) == tuple(record)
    assert all(e.at.tzinfo is not None and e.actor_id is not None for e in record)
    assert all(a.at <= b.at for a, b in itertools.pairwise(record))
    by_action = {(e.workflow, e.action): e for e in record}
    assign = by_action["request", "assign"]
    assert (assign.actor_id, assign.from_state, assign.to_state) == (
        world.clerk.id, "registered", "assigned"
    )
    assert by_action["onsite", "approve"].actor_id == world.boss.id
    assert by_action["onsite", "arrive"].from_state == "travelling"
    assert by_action["request", "confirm"].actor_id == world.contact.id
    assert (by_action["request", "close"].from_state, request.state) == (
        "confirmed", RequestState.CLOSED
    )
    committed = [e for e in world.store.events if e.aggregate_id == rid]
    assert [e.sequence for e in committed] == list(range(1, len(committed) + 1))


def test_r9_the_record_only_grows_nothing_is_rewritten(world: World) -> None:
    rid = world.assigned()
    before = list(world.get(rid).record)
    after = world.desk.start_remote(world.engineer, rid).record
    assert after[: len(before)] == before
    assert len(after) > len(before)


def test_r9_a_record_with_an_entry_removed_is_reported(world: World) -> None:
    request = world.get(world.remote())
    request.record.pop(1)
    problems = verify_record(request)
    assert "entry 2 has sequence 3" in problems


@pytest.mark.parametrize(
    ("field", "value"),
    [("note", "nothing happened"), ("actor_id", UUID(int=666)), ("at", T0 - timedelta(days=9))],
)
def test_r9_an_entry_edited_in_place_is_reported_even_when_its_states_still_chain(
    world: World, field: str, value: Any
) -> None:
    request = world.get(world.remote())
    request.record[1] = attrs.evolve(request.record[1], **{field: value})
    assert verify_record(request) == [
        "entry 2 (assign) does not match its digest: edited, inserted or out of place"
    ]


# --- R10: closing -----------------------------------------------------------------------------


def test_r10_closing_needs_customer_confirmation(world: World) -> None:
    rid = world.remote()
    world.desk.resolve(world.engineer, rid, resolution="reset the driver")
    with pytest.raises(InvalidTransition, match="is resolved: cannot close"):
        world.desk.close(world.clerk, rid)
    world.desk.confirm(world.contact, rid, note="works again")
    request = world.desk.close(world.clerk, rid)
    assert request.state == RequestState.CLOSED
    assert request.customer_confirmed_at is not None


def test_r10_a_customer_who_rejects_the_resolution_reopens_the_request(world: World) -> None:
    rid = world.remote()
    world.desk.resolve(world.engineer, rid, resolution="reset the driver")
    request = world.desk.reopen(world.contact, rid, reason="still jams")
    assert request.state == RequestState.ASSIGNED
    assert request.engineer_id == world.engineer.id
    assert request.record[-1].note == "still jams"


# --- R11: remote service ----------------------------------------------------------------------


def test_r11_every_remote_contact_is_recorded(world: World) -> None:
    rid = world.remote()
    world.desk.record_contact(world.engineer, rid, channel=Channel.PHONE, summary="called user")
    world.desk.record_contact(world.engineer, rid, channel=Channel.EMAIL, summary="sent steps")
    request = world.desk.record_contact(
        world.engineer, rid, channel=Channel.PHONE, summary="remote login, cleared queue"
    )
    job = _remote(request)
    assert [(c.channel, c.summary) for c in job.contacts] == [
        (Channel.PHONE, "called user"),
        (Channel.EMAIL, "sent steps"),
        (Channel.PHONE, "remote login, cleared queue"),
    ]
    contact_entries = [e for e in request.record if e.action == "record_contact"]
    assert [e.note for e in contact_entries] == [c.summary for c in job.contacts]
    events = [e.name for e in world.store.events if e.aggregate_id == rid]
    assert events.count("ContactRecorded") == 3


def test_r11_remote_work_resolved_then_confirmed_closes(world: World) -> None:
    rid = world.remote()
    request = world.desk.resolve(world.engineer, rid, resolution="cleared queue")
    assert _remote(request).state == RemoteState.RESOLVED
    world.desk.confirm(world.contact, rid)
    assert world.desk.close(world.clerk, rid).state == RequestState.CLOSED


def test_r11_escalation_to_onsite_keeps_the_remote_job(world: World) -> None:
    rid = world.remote()
    world.desk.record_contact(world.engineer, rid, channel=Channel.PHONE, summary="no luck")
    request = world.desk.escalate_onsite(
        world.engineer, rid, reason="hardware fault", promised_at=T0 + timedelta(hours=4)
    )
    remote, onsite = request.jobs
    assert isinstance(remote, RemoteJob) and remote.state == RemoteState.ESCALATED_ONSITE
    assert len(remote.contacts) == 1
    assert isinstance(onsite, OnSiteJob) and onsite.state == OnSiteState.PLANNED
    assert onsite.promised_at == T0 + timedelta(hours=4)
    assert request.state == RequestState.IN_PROGRESS
    assert verify_record(request) == []


def test_r11_hand_to_depot_parks_the_request_until_the_depot_resolves_it(world: World) -> None:
    rid = world.remote()
    request = world.desk.hand_to_depot(world.engineer, rid, reason="board level repair")
    assert request.state == RequestState.HANDED_TO_DEPOT
    assert _remote(request).state == RemoteState.HANDED_TO_DEPOT
    assert request.active_job is None
    with pytest.raises(InvalidTransition):
        world.desk.resolve(world.engineer, rid, resolution="fixed")
    assert not hasattr(world.desk, "complete_depot")  # only the depot's own flow resolves it
    steps.depot_intake(request, order_id=UUID(int=70_000), order_number="RO-1",
                       actor=world.clerk, at=T0 + timedelta(hours=2))
    assert (request.state, request.repair_order_id) == (RequestState.AT_DEPOT, UUID(int=70_000))
    with pytest.raises(InvalidTransition, match="needs state") as refused:
        steps.cancel(request, reason="customer withdrew", actor=world.clerk,
                     at=T0 + timedelta(hours=3))
    assert refused.value.codes == ("state",)
    steps.complete_depot(request, resolution="board replaced", actor=world.clerk,
                         at=T0 + timedelta(days=2))
    assert request.state == RequestState.RESOLVED
    assert verify_record(request) == []


# --- R12: on-site service ---------------------------------------------------------------------


def test_r12_dispatch_needs_supervisor_approval(world: World) -> None:
    rid = world.awaiting_approval()
    with pytest.raises(InvalidTransition, match="awaiting_approval: cannot prepare"):
        world.desk.prepare(world.engineer, rid)
    with pytest.raises(InvalidTransition, match="cannot depart"):
        world.desk.depart(world.engineer, rid)
    request = world.desk.approve_dispatch(world.boss, rid)
    job = _onsite(request)
    assert (job.state, job.approval, job.approved_by) == (
        OnSiteState.APPROVED, DispatchApproval.APPROVED, world.boss.id
    )


def test_r12_the_engineer_confirms_the_need_with_the_customer_first(world: World) -> None:
    rid = world.assigned()
    world.desk.start_onsite(world.engineer, rid)
    with pytest.raises(InvalidTransition, match="planned: cannot approve"):
        world.desk.approve_dispatch(world.boss, rid)
    request = world.desk.confirm_need(world.engineer, rid, note="customer confirmed by phone")
    assert _onsite(request).need_confirmed_at is not None


def test_r12_emergency_dispatch_blocks_closing_until_retro_approval(world: World) -> None:
    rid = world.awaiting_approval()
    request = world.desk.dispatch_emergency(world.engineer, rid, reason="production line down")
    assert _onsite(request).approval is DispatchApproval.EMERGENCY_PENDING
    assert _onsite(request).state == OnSiteState.TRAVELLING
    world.desk.record_arrival(world.engineer, rid)
    world.desk.sign_off(world.engineer, rid, found="PSU", result="replaced", signed_by="Zhao")
    world.desk.resolve(world.engineer, rid, resolution="PSU replaced")
    world.desk.confirm(world.contact, rid)
    with pytest.raises(GuardFailed, match="R12"):
        world.desk.close(world.clerk, rid)
    request = world.desk.retro_approve(world.boss, rid)
    assert _onsite(request).approval is DispatchApproval.RETRO_APPROVED
    assert _onsite(request).approved_by == world.boss.id
    assert world.desk.close(world.clerk, rid).state == RequestState.CLOSED


def test_r12_an_emergency_dispatch_is_not_cancelled_before_its_approval_is_recorded(
    world: World,
) -> None:
    rid = world.awaiting_approval()
    world.desk.dispatch_emergency(world.engineer, rid, reason="production line down")
    with pytest.raises(GuardFailed, match="R12") as refused:
        world.desk.cancel(world.clerk, rid, reason="customer withdrew")
    assert refused.value.codes == ("onsite_approvals_recorded",)
    assert world.get(rid).state == RequestState.IN_PROGRESS
    world.desk.retro_approve(world.boss, rid)
    request = world.desk.cancel(world.clerk, rid, reason="customer withdrew")
    assert request.state == RequestState.CANCELLED
    assert (_onsite(request).state, _onsite(request).approval) == (
        OnSiteState.CANCELLED, DispatchApproval.RETRO_APPROVED
    )


def test_r12_retro_approval_is_refused_when_nothing_awaits_it(world: World) -> None:
    rid = world.on_site()
    with pytest.raises(GuardFailed, match="no emergency dispatch"):
        world.desk.retro_approve(world.boss, rid)


def test_r12_consultation_leads_to_a_revisit(world: World) -> None:
    rid = world.on_site()
    world.desk.record_work(world.engineer, rid, description="checked the controller")
    world.desk.call_consultation(world.engineer, rid, reason="intermittent fault")
    revisit_at = T0 + timedelta(days=2)
    request = world.desk.plan_revisit(
        world.engineer, rid, plan="bring a spare controller", promised_at=revisit_at
    )
    job = _onsite(request)
    assert job.state == OnSiteState.REVISIT_PLANNED
    assert job.consultation_plans == ["bring a spare controller"]
    assert job.promised_at == revisit_at
    world.desk.depart(world.engineer, rid)
    request = world.desk.record_arrival(world.engineer, rid)
    assert len(_onsite(request).arrivals) == 2
    request = world.desk.sign_off(world.engineer, rid, found="controller", result="swapped",
                                  signed_by="Mr Zhao")
    assert _onsite(request).state == OnSiteState.SIGNED_OFF
    assert len(request.jobs) == 1


def test_r12_a_consultation_may_hand_the_unit_to_the_depot(world: World) -> None:
    rid = world.on_site()
    world.desk.call_consultation(world.engineer, rid, reason="needs bench tools")
    request = world.desk.hand_to_depot(world.engineer, rid, reason="bench repair")
    assert request.state == RequestState.HANDED_TO_DEPOT
    assert _onsite(request).state == OnSiteState.HANDED_TO_DEPOT


def test_r12_reschedule_records_the_reason_and_new_time(world: World) -> None:
    rid = world.assigned()
    first = T0 + timedelta(days=1)
    world.desk.start_onsite(world.engineer, rid, promised_at=first)
    later = T0 + timedelta(days=3)
    request = world.desk.reschedule(world.clerk, rid, new_time=later, reason="no engineer free")
    job = _onsite(request)
    (change,) = job.reschedules
    assert (change.previous, change.new, change.reason) == (first, later, "no engineer free")
    assert job.promised_at == later
    assert job.state == OnSiteState.PLANNED
    note = request.record[-1].note
    assert (request.record[-1].action, note) == (
        "reschedule", f"{first.isoformat()} -> {later.isoformat()}: no engineer free"
    )
    event = [e for e in world.store.events if e.aggregate_id == rid][-1]
    assert event.name == "VisitRescheduled"
    assert (event.previous_time, event.new_time, event.reason) == (  # type: ignore[attr-defined]
        first, later, "no engineer free"
    )


def test_r12_customer_signs_the_service_report(world: World) -> None:
    rid = world.on_site()
    with pytest.raises(GuardFailed, match="not solved the problem"):
        world.desk.resolve(world.engineer, rid, resolution="done")
    world.desk.record_work(world.engineer, rid, description="replaced fuser")
    request = world.desk.sign_off(
        world.engineer, rid, found="worn fuser", result="printing again", signed_by="Mr Zhao",
        rating=4, parts_replaced=("fuser",), fee=Money(Decimal("120.00"), "CNY"),
        open_issues="tray 2 squeaks", remarks="fast",
    )
    job = _onsite(request)
    report = job.report
    assert report is not None
    assert (report.signed_by, report.rating, report.parts_replaced) == ("Mr Zhao", 4, ("fuser",))
    assert report.fee == Money(Decimal("120.00"), "CNY")
    assert report.open_issues == "tray 2 squeaks"
    assert job.work[0].description == "replaced fuser"
    assert job.arrivals and report.signed_at >= job.arrivals[0]
    assert world.desk.resolve(world.engineer, rid, resolution="done").state == (
        RequestState.RESOLVED
    )


# --- R20: warranty ----------------------------------------------------------------------------


def _unit(**dates: object) -> Equipment:
    return Equipment(UUID(int=7), "SN-7", "X200", UUID(int=8), **dates)  # type: ignore[arg-type]


def test_r20_no_invoice_falls_back_to_production_date_plus_grace() -> None:
    unit = _unit(produced_on=date(2025, 1, 10), purchased_on=date(2025, 3, 1))
    result = WarrantyPolicy().determine(unit, date(2026, 4, 9))
    assert result.basis is WarrantyBasis.PRODUCTION_FALLBACK
    assert (result.starts_on, result.ends_on) == (date(2025, 4, 10), date(2026, 4, 10))
    assert result.in_warranty and not result.chargeable
    assert "production_fallback" in result.explain()
    assert not WarrantyPolicy().determine(unit, date(2026, 4, 10)).in_warranty


def test_r20_installation_date_wins_over_invoice_by_default() -> None:
    unit = _unit(installed_on=date(2025, 6, 1), purchased_on=date(2025, 1, 1),
                 invoice_ref="INV-1")
    result = WarrantyPolicy().determine(unit, date(2026, 3, 1))
    assert (result.basis, result.starts_on) == (WarrantyBasis.INSTALLATION, date(2025, 6, 1))
    assert result.in_warranty
    invoice_first = WarrantyPolicy(basis_order=(WarrantyBasis.INVOICE, WarrantyBasis.INSTALLATION))
    other = invoice_first.determine(unit, date(2026, 3, 1))
    assert (other.basis, other.starts_on, other.in_warranty) == (
        WarrantyBasis.INVOICE, date(2025, 1, 1), False
    )


def test_r20_the_invoice_date_is_used_without_an_installation_date() -> None:
    unit = _unit(purchased_on=date(2025, 9, 1), invoice_ref="INV-2", produced_on=date(2024, 1, 1))
    result = WarrantyPolicy().determine(unit, date(2026, 1, 1))
    assert (result.basis, result.in_warranty) == (WarrantyBasis.INVOICE, True)


def test_r20_no_date_at_all_means_out_of_warranty() -> None:
    result = WarrantyPolicy().determine(_unit(), date(2026, 1, 1))
    assert (result.basis, result.in_warranty, result.chargeable) == (
        WarrantyBasis.NONE, False, True
    )
    assert "no installation, invoice or production date" in result.explain()


@pytest.mark.parametrize("exclusion", list(Exclusion))
def test_r20_each_exclusion_voids_coverage(exclusion: Exclusion) -> None:
    unit = _unit(installed_on=date(2026, 1, 1))
    result = WarrantyPolicy().determine(unit, date(2026, 2, 1), findings=[exclusion])
    assert not result.in_warranty and result.chargeable
    assert result.exclusion is exclusion
    assert exclusion.value in result.explain()
    lenient = WarrantyPolicy(exclusions=frozenset(set(Exclusion) - {exclusion}))
    assert lenient.determine(unit, date(2026, 2, 1), findings=[exclusion]).in_warranty


def test_r20_an_unknown_finding_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="findings"):
        WarrantyPolicy().determine(_unit(), date(2026, 1, 1), findings=["dropped"])  # type: ignore[list-item]


def test_r20_service_plan_extends_coverage() -> None:
    unit = _unit(installed_on=date(2023, 1, 1))
    plan = ServicePlan(UUID(int=9), UUID(int=8), date(2026, 1, 1), date(2026, 12, 31),
                       equipment_ids=[unit.id])
    day = date(2026, 5, 5)
    assert not WarrantyPolicy().determine(unit, day).in_warranty
    covered = WarrantyPolicy().determine(unit, day, plans=[plan])
    assert (covered.in_warranty, covered.basis, covered.service_plan_id) == (
        True, WarrantyBasis.SERVICE_PLAN, plan.id
    )
    assert not WarrantyPolicy(service_plans_extend=False).determine(
        unit, day, plans=[plan]
    ).in_warranty
    other_unit_plan = ServicePlan(UUID(int=10), UUID(int=8), date(2026, 1, 1),
                                  date(2026, 12, 31), equipment_ids=[UUID(int=99)])
    assert not WarrantyPolicy().determine(unit, day, plans=[other_unit_plan]).in_warranty
    no_extension = ServicePlan(UUID(int=11), UUID(int=8), date(2026, 1, 1), date(2026, 12, 31),
                               equipment_ids=[unit.id], extends_warranty=False)
    assert not WarrantyPolicy().determine(unit, day, plans=[no_extension]).in_warranty
    damaged = WarrantyPolicy().determine(unit, day, [Exclusion.HUMAN_DAMAGE], [plan])
    assert not damaged.in_warranty


def test_r20_periods_are_parameters() -> None:
    unit = _unit(installed_on=date(2025, 1, 31), produced_on=date(2024, 1, 31))
    assert not WarrantyPolicy().determine(unit, date(2026, 2, 1)).in_warranty
    long = WarrantyPolicy(period_months=24).determine(unit, date(2026, 2, 1))
    assert (long.in_warranty, long.ends_on) == (True, date(2027, 1, 31))
    short = WarrantyPolicy(period_months=1).determine(unit, date(2025, 2, 27))
    assert short.ends_on == date(2025, 2, 28)  # clamped to the month's last day
    no_grace = WarrantyPolicy(production_grace_months=0).determine(
        _unit(produced_on=date(2025, 1, 31)), date(2025, 6, 1)
    )
    assert no_grace.starts_on == date(2025, 1, 31)
    with pytest.raises(ConfigurationError):
        WarrantyPolicy(period_months=-1)
    with pytest.raises(ConfigurationError):
        WarrantyPolicy(production_grace_months=-1)
    with pytest.raises(ConfigurationError):
        WarrantyPolicy(basis_order=(WarrantyBasis.PRODUCTION_FALLBACK,))
    with pytest.raises(ConfigurationError):
        WarrantyPolicy(basis_order=())


def test_r20_the_desk_uses_its_warranty_policy_and_the_customers_plans(world: World) -> None:
    unit = world.desk.register_equipment(
        world.clerk, serial="SN-9", model="X200", owner_id=world.customer.id,
        installed_on=date(2024, 1, 1),
    )
    assert not world.desk.warranty(world.clerk, unit.id, on=date(2026, 1, 5)).in_warranty
    world.desk.add_service_plan(world.boss, customer_id=world.customer.id,
                                starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31),
                                equipment_ids=[unit.id])
    result = world.desk.warranty(world.clerk, unit.id, on=date(2026, 1, 5))
    assert (result.in_warranty, result.basis) == (True, WarrantyBasis.SERVICE_PLAN)
    excluded = world.desk.warranty(world.clerk, unit.id, findings=[Exclusion.CONSUMABLES],
                                   on=date(2026, 1, 5))
    assert excluded.chargeable


# --- R30: roles -------------------------------------------------------------------------------


def test_r30_clerk_registers_and_routes(world: World) -> None:
    request = world.request()
    assert world.desk.route(world.clerk, request.id, department="printers").department == (
        "printers"
    )
    for outsider in (world.engineer, world.contact):
        with pytest.raises(NotAuthorized, match="register_request"):
            world.desk.register_request(outsider, customer_id=world.customer.id, summary="x")
        with pytest.raises(NotAuthorized, match="route"):
            world.desk.route(outsider, request.id, department="x")


def test_r30_only_the_assigned_engineer_records_work(world: World) -> None:
    rid = world.on_site()
    for outsider in (world.other_engineer, world.clerk, world.boss, world.contact):
        with pytest.raises(NotAuthorized, match="record_work"):
            world.desk.record_work(outsider, rid, description="not mine")
    request = world.desk.record_work(world.engineer, rid, description="replaced fuser")
    assert [w.description for w in _onsite(request).work] == ["replaced fuser"]


def test_r30_only_a_supervisor_approves_dispatch(world: World) -> None:
    rid = world.awaiting_approval()
    for outsider in (world.engineer, world.clerk, world.contact):
        with pytest.raises(NotAuthorized, match="needs role supervisor"):
            world.desk.approve_dispatch(outsider, rid)
    assert _onsite(world.desk.approve_dispatch(world.boss, rid)).approval is (
        DispatchApproval.APPROVED
    )


def test_r30_a_customer_confirms_only_their_own_request(world: World) -> None:
    rid = world.remote()
    world.desk.resolve(world.engineer, rid, resolution="done")
    with pytest.raises(NotAuthorized, match="Ms Qian may not confirm"):
        world.desk.confirm(world.stranger, rid)
    with pytest.raises(NotAuthorized):
        world.desk.get_request(world.stranger, rid)
    assert world.desk.confirm(world.contact, rid).state == RequestState.CONFIRMED


def test_r30_a_customer_finds_only_their_own_requests(world: World) -> None:
    mine = world.request()
    world.request(customer_id=world.other_customer.id)
    found = world.desk.find_requests(world.contact, customer_id=world.other_customer.id)
    assert [r.id for r in found] == [mine.id]


def test_r30_an_actor_missing_from_the_directory_is_refused_whatever_roles_it_claims(
    world: World,
) -> None:
    impostor = Actor(UUID(int=999_999), "Mallory", {Role.SUPERVISOR, Role.CLERK})
    with pytest.raises(NotAuthorized, match="no such actor in the directory"):
        world.desk.register_request(impostor, customer_id=world.customer.id, summary="x")
    forged = Actor(world.clerk.id, world.clerk.name, {Role.SUPERVISOR})  # the clerk's real id
    rid = world.awaiting_approval()
    with pytest.raises(NotAuthorized, match="needs role supervisor"):
        world.desk.approve_dispatch(forged, rid)
    assert _onsite(world.get(rid)).approval is DispatchApproval.MISSING


def test_r30_a_deactivated_actor_may_do_nothing_until_reactivated(world: World) -> None:
    world.desk.deactivate_actor(world.boss, world.clerk.id, reason="left the company")
    with pytest.raises(NotAuthorized, match="not active"):
        world.request()
    with pytest.raises(NotAuthorized, match="not active"):
        world.desk.find_requests(world.clerk)
    world.desk.reactivate_actor(world.boss, world.clerk.id)
    assert world.request().state == RequestState.REGISTERED


def test_r30_only_a_supervisor_registers_people(world: World) -> None:
    with pytest.raises(NotAuthorized, match="register_actor"):
        world.desk.register_actor(world.clerk, name="Mallory", roles={Role.SUPERVISOR})

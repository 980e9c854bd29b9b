"""cattrs round-trips: every entity, value object and event survives ``unstructure`` →
JSON → ``structure`` unchanged (the storage adapters and the outbox rely on it, R9)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import cattrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.domain import (
    EVENT_TYPES,
    Actor,
    Address,
    Contact,
    ContactLog,
    Customer,
    DomainEvent,
    Equipment,
    Money,
    OnSiteJob,
    RecordEntry,
    RemoteJob,
    Reschedule,
    ServicePlan,
    ServiceReport,
    ServiceRequest,
    WorkEntry,
)
from aftersales.domain.parts import Part, Stock
from aftersales.domain.repair import Vendor
from aftersales.serialization import event_from_dict, event_to_dict, make_converter
from aftersales.testing import repair_strategies as rst
from aftersales.testing import strategies as ast
from aftersales.workflows import verify_record

CONVERTER = make_converter()

#: Value objects (attrs ``frozen``, compared by value).
VALUES: list[tuple[type[Any], st.SearchStrategy[Any]]] = [
    (Money, ast.money()),
    (Contact, ast.contacts()),
    (Address, ast.addresses()),
    (RecordEntry, ast.record_entries()),
    (ContactLog, ast.contact_logs()),
    (WorkEntry, ast.work_entries()),
    (Reschedule, ast.reschedules()),
    (ServiceReport, ast.service_reports()),
]

#: Entities (``eq=False``: identity), compared through their unstructured form.
ENTITIES: list[tuple[type[Any], st.SearchStrategy[Any]]] = [
    (Actor, ast.actors()),
    (Customer, ast.customers()),
    (Equipment, ast.equipment()),
    (ServicePlan, ast.service_plans()),
    (RemoteJob, ast.remote_jobs()),
    (OnSiteJob, ast.onsite_jobs()),
    (ServiceRequest, ast.service_requests()),
    (Part, rst.parts()),
    (Vendor, rst.vendors()),
    (Stock, rst.stocks()),
]


def _through_json(value: Any, cls: type[Any], converter: cattrs.Converter = CONVERTER) -> Any:
    data = converter.unstructure(value, unstructure_as=cls)
    text = json.dumps(data, ensure_ascii=False)
    return data, converter.structure(json.loads(text), cls)


@pytest.mark.parametrize(("cls", "strategy"), VALUES, ids=[c.__name__ for c, _ in VALUES])
@given(data=st.data())
def test_every_value_object_survives_structure_of_unstructure(
    cls: type[Any], strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    value = data.draw(strategy)
    assert CONVERTER.structure(CONVERTER.unstructure(value), cls) == value


@pytest.mark.parametrize(("cls", "strategy"), ENTITIES, ids=[c.__name__ for c, _ in ENTITIES])
@given(data=st.data())
def test_every_entity_survives_structure_of_unstructure(
    cls: type[Any], strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    entity = data.draw(strategy)
    unstructured = CONVERTER.unstructure(entity, unstructure_as=cls)
    back = CONVERTER.structure(unstructured, cls)
    assert type(back) is cls
    assert CONVERTER.unstructure(back, unstructure_as=cls) == unstructured


@pytest.mark.parametrize(("cls", "strategy"), VALUES, ids=[c.__name__ for c, _ in VALUES])
@given(data=st.data())
def test_every_value_object_survives_a_json_round_trip(
    cls: type[Any], strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    value = data.draw(strategy)
    _, back = _through_json(value, cls)
    assert back == value


@pytest.mark.parametrize(("cls", "strategy"), ENTITIES, ids=[c.__name__ for c, _ in ENTITIES])
@given(data=st.data())
def test_every_entity_survives_a_json_round_trip(
    cls: type[Any], strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    entity = data.draw(strategy)
    unstructured, back = _through_json(entity, cls)
    assert type(back) is cls
    assert CONVERTER.unstructure(back, unstructure_as=cls) == unstructured


@given(ast.service_requests())
def test_r9_a_restored_request_still_replays_its_record(request: ServiceRequest) -> None:
    _, back = _through_json(request, ServiceRequest)
    assert back.state == request.state
    assert back.record == request.record
    assert verify_record(back) == []
    assert back.pending_events == []


@pytest.mark.parametrize("cls", list(EVENT_TYPES.values()), ids=list(EVENT_TYPES))
@given(data=st.data())
def test_every_event_type_survives_a_json_round_trip(
    cls: type[DomainEvent], data: st.DataObject
) -> None:
    event = data.draw(ast.events_of(cls))
    _, back = _through_json(event, cls)
    assert back == event
    assert back.event_id == event.event_id


@pytest.mark.parametrize("cls", list(EVENT_TYPES.values()), ids=list(EVENT_TYPES))
@settings(max_examples=25)
@given(data=st.data())
def test_every_event_type_survives_event_to_dict_and_back(
    cls: type[DomainEvent], data: st.DataObject
) -> None:
    event = data.draw(ast.events_of(cls))
    payload = json.loads(json.dumps(event_to_dict(event), ensure_ascii=False))
    assert payload["type"] == cls.__name__
    restored = event_from_dict(payload)
    assert restored == event and restored.event_id == event.event_id


@given(ast.domain_events())
def test_event_to_dict_and_back_gives_the_same_event(event: DomainEvent) -> None:
    data = event_to_dict(event)
    assert data["type"] == event.name
    restored = event_from_dict(json.loads(json.dumps(data, ensure_ascii=False)))
    assert restored == event
    assert type(restored) is type(event)


@settings(max_examples=20)
@given(data=st.data())
def test_the_event_strategies_cover_every_event_type(data: st.DataObject) -> None:
    for cls in EVENT_TYPES.values():
        assert type(data.draw(ast.events_of(cls), label=cls.__name__)) is cls


@given(ast.durations(min_value=timedelta(days=200_000), max_value=timedelta.max))
def test_long_timedeltas_survive_a_round_trip_exactly(delta: timedelta) -> None:
    assert CONVERTER.structure(CONVERTER.unstructure(delta), timedelta) == delta

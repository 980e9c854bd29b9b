"""Strategies for the files of the directory (R1 customers, R2 equipment, R4 service
plans, R30 actors) and for the policies (R8 priority matrices, R20 warranty policies).

Part of :mod:`aftersales.testing.strategies`: import them from there.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from hypothesis import strategies as st

from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import Actor, Customer, Equipment, ServicePlan
from aftersales.domain.values import Address, Contact, Impact, Priority, Role, Urgency
from aftersales.domain.warranty import WarrantyBasis, WarrantyPolicy
from aftersales.testing.strategies.values import (
    customer_kinds,
    customer_tiers,
    dates,
    durations,
    exclusion_sets,
    names,
    non_blank_texts,
    priorities,
    role_sets,
    texts,
)

__all__ = [
    "actors",
    "addresses",
    "contacts",
    "customers",
    "equipment",
    "priority_matrices",
    "priority_tables",
    "service_plans",
    "warranty_policies",
]

# --- files of the directory --------------------------------------------------------------

_PHONES = st.from_regex(r"(\+86 ?)?1[3-9][0-9]{9}|0[1-9][0-9]{1,2}-[0-9]{7,8}", fullmatch=True)
_EMAILS = st.from_regex(r"[a-z][a-z0-9._]{0,12}@[a-z]{2,10}\.(com|cn|net)", fullmatch=True)


@functools.cache
def contacts() -> st.SearchStrategy[Contact]:
    """R1 contact persons with optional phone and e-mail."""
    return st.builds(
        Contact, name=names(), phone=st.none() | _PHONES, email=st.none() | _EMAILS
    )


@functools.cache
def addresses() -> st.SearchStrategy[Address]:
    """R1 postal / site addresses (Chinese and other)."""
    return st.builds(
        Address, line=non_blank_texts(), city=texts(max_size=12), region=texts(max_size=12),
        postcode=st.from_regex(r"[0-9]{6}|", fullmatch=True), country=texts(max_size=12),
    )


@st.composite
def actors(
    draw: st.DrawFn,
    *,
    roles: st.SearchStrategy[frozenset[Role]] | None = None,
    customer_id: st.SearchStrategy[UUID | None] | None = None,
) -> Actor:
    """R30 actors with one or more roles; an actor with the CUSTOMER role always names its
    customer (``customer_id``), staff may or may not."""
    held = draw(roles if roles is not None else role_sets())
    owner = draw(customer_id if customer_id is not None else st.none() | st.uuids())
    if Role.CUSTOMER in held and owner is None:
        owner = draw(st.uuids())
    return Actor(id=draw(st.uuids()), name=draw(names()), roles=held, customer_id=owner)


def customers() -> st.SearchStrategy[Customer]:
    """R1 customer files: kind, tier, contacts and addresses."""
    return st.builds(
        Customer, id=st.uuids(), name=names(), kind=customer_kinds(), tier=customer_tiers(),
        contacts=st.lists(contacts(), max_size=3).map(tuple),
        addresses=st.lists(addresses(), max_size=3).map(tuple),
        version=st.integers(min_value=0, max_value=1000),
    )


def equipment(
    *, owner_id: st.SearchStrategy[UUID | None] | None = None
) -> st.SearchStrategy[Equipment]:
    """R2 equipment files, each date optional: with or without an invoice (R20's fallback),
    installation date or production date."""
    optional_date = st.none() | dates()
    return st.builds(
        Equipment, id=st.uuids(), serial=st.from_regex(r"[A-Z0-9]{4,16}", fullmatch=True)
        | non_blank_texts(max_size=16),
        model=non_blank_texts(max_size=16),
        owner_id=owner_id if owner_id is not None else st.none() | st.uuids(),
        product_line=texts(max_size=12), maker=texts(max_size=12),
        hardware_version=texts(max_size=8), software_version=texts(max_size=8),
        installed_on=optional_date, purchased_on=optional_date,
        invoice_ref=st.none() | st.just("") | st.from_regex(r"INV-[0-9]{4,10}", fullmatch=True),
        produced_on=optional_date, location=texts(max_size=16), user=texts(max_size=12),
        asset_label=texts(max_size=12), version=st.integers(min_value=0, max_value=1000),
    )


@st.composite
def service_plans(
    draw: st.DrawFn,
    *,
    customer_id: UUID | None = None,
    equipment_ids: Sequence[UUID] | None = None,
) -> ServicePlan:
    """R4 service plans: a period (``ends_on`` never before ``starts_on``), covered equipment
    and optional callback / response / maintenance cadences."""
    starts = draw(dates())
    ends = draw(dates(min_value=starts))
    covered = (
        frozenset(equipment_ids) if equipment_ids is not None
        else draw(st.frozensets(st.uuids(), max_size=4))
    )
    optional = st.none() | durations(min_value=timedelta(minutes=1))
    return ServicePlan(
        id=draw(st.uuids()),
        customer_id=customer_id if customer_id is not None else draw(st.uuids()),
        starts_on=starts, ends_on=ends, equipment_ids=covered, content=draw(texts()),
        callback_every=draw(optional), response_within=draw(optional),
        maintenance_every=draw(optional), extends_warranty=draw(st.booleans()),
        version=draw(st.integers(min_value=0, max_value=1000)),
    )


# --- policies ------------------------------------------------------------------------------


@functools.cache
def warranty_policies() -> st.SearchStrategy[WarrantyPolicy]:
    """R20 policies with random parameters: period (0-10 years), basis order, production
    grace, exclusions, and whether service plans extend coverage."""
    basis_orders = st.sampled_from([
        (WarrantyBasis.INSTALLATION, WarrantyBasis.INVOICE),
        (WarrantyBasis.INVOICE, WarrantyBasis.INSTALLATION),
        (WarrantyBasis.INSTALLATION,),
        (WarrantyBasis.INVOICE,),
    ])
    return st.builds(
        WarrantyPolicy, period_months=st.integers(min_value=0, max_value=120),
        basis_order=basis_orders, production_grace_months=st.integers(min_value=0, max_value=24),
        exclusions=exclusion_sets(), service_plans_extend=st.booleans(),
    )


@functools.cache
def priority_tables() -> st.SearchStrategy[dict[tuple[Impact, Urgency], Priority]]:
    """Complete R8 tables: every impact × urgency mapped to a random priority."""
    return st.fixed_dictionaries(
        {(impact, urgency): priorities() for impact in Impact for urgency in Urgency}
    )


@functools.cache
def priority_matrices() -> st.SearchStrategy[PriorityMatrix]:
    """R8 matrices with random full tables (the default one included)."""
    return st.one_of(st.just(PriorityMatrix()), priority_tables().map(PriorityMatrix))

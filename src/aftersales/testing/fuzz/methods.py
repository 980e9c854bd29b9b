"""The typed methods of the desks: listing them, calling one for a command, and the
read-only ones (:data:`QUERIES`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

import attrs

from aftersales.service.commands import Command
from aftersales.service.runner import CommandRunner
from aftersales.testing.fuzz.world import FuzzWorld

_RENAMED = {"name": ("person", "customer", "vendor", "title", "location")}


def typed_methods(desk: object) -> list[str]:
    """The public typed methods of a desk (a ServiceDesk or a RepairDesk): the methods its
    own classes define, not the runner's machinery."""
    return list(_typed_methods(type(desk)))


_METHODS: dict[type[Any], tuple[str, ...]] = {}
_PARAMETERS: dict[tuple[type[Any], str], tuple[str, ...]] = {}


def _typed_methods(kind: type[Any]) -> tuple[str, ...]:
    known = _METHODS.get(kind)
    if known is not None:
        return known
    found: set[str] = set()
    for cls in kind.__mro__:
        if cls in (object, CommandRunner) or cls.__module__.endswith((".runner",
                                                                      ".repair_base")):
            continue
        for name, value in vars(cls).items():
            if not name.startswith("_") and inspect.isfunction(value):
                found.add(name)
    known = _METHODS[kind] = tuple(sorted(found))
    return known


def _parameters(kind: type[Any], name: str) -> tuple[str, ...]:
    """The parameter names of a typed method after ``actor``."""
    known = _PARAMETERS.get((kind, name))
    if known is None:
        method = getattr(kind, name)
        known = _PARAMETERS[(kind, name)] = tuple(inspect.signature(method).parameters)[2:]
    return known


def typed_call(desk: object, command: Command, actor: Any) -> Callable[[], object]:
    """The call of ``desk``'s typed method for ``command`` (the method named like the
    command) with ``actor`` in place of the command's actor. KeyError when the desk has no
    such method or the method cannot express the command."""
    if command.name not in _typed_methods(type(desk)):
        raise KeyError(command.name)
    method = getattr(desk, command.name)
    values = {a.name: getattr(command, a.name) for a in attrs.fields(type(command))}
    values.pop("actor_id")
    kwargs: dict[str, Any] = {}
    for param in _parameters(type(desk), command.name):
        names = (param, *_RENAMED.get(param, ()))
        field = next((n for n in names if n in values), None)
        if field is None:
            raise KeyError(f"{command.name}: no field for {param}")
        kwargs[param] = values.pop(field)
    values.pop("expected_version", None)  # a method without it does not check the version
    left = sorted(k for k, v in values.items() if v is not None)
    if left:
        raise KeyError(f"{command.name} cannot pass {left}")
    return lambda: method(actor, **kwargs)


def _typed_run(desk: object, command: Command) -> object:
    """Run ``command`` through ``desk``'s typed method, as the command's own actor."""
    return typed_call(desk, command, command.actor_id)()


def _queries() -> dict[str, Callable[[FuzzWorld, Any], object]]:
    def first_order(w: FuzzWorld) -> UUID:
        return next(k for k, v in w.kind_of.items() if v == "order")

    def first_outsourced(w: FuzzWorld) -> UUID:
        return next(k for k, v in w.kind_of.items() if v == "outsourced")

    def first_request(w: FuzzWorld) -> UUID:
        return next(k for k, v in w.kind_of.items() if v == "request")

    return {
        "warranty": lambda w, a: w.desk.warranty(a, w.unit_id),
        "get_request": lambda w, a: w.desk.get_request(a, first_request(w)),
        "find_requests": lambda w, a: w.desk.find_requests(a, customer_id=w.customer),
        "get_order": lambda w, a: w.repairs.get_order(a, first_order(w)),
        "get_outsourced": lambda w, a: w.repairs.get_outsourced(a, first_outsourced(w)),
        "orders_of_equipment": lambda w, a: w.repairs.orders_of_equipment(a, w.unit_id),
        "orders_of_customer": lambda w, a: w.repairs.orders_of_customer(a, w.customer),
        "get_stock": lambda w, a: w.repairs.get_stock(a, w.warehouse),
        "return_ledger": lambda w, a: w.repairs.return_ledger(a),
    }


#: The read-only typed methods, each called on a :class:`FuzzWorld` as an actor.
QUERIES: Mapping[str, Callable[[FuzzWorld, Any], object]] = _queries()

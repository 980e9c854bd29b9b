"""A fuzzer for every command a desk runs: bad input must be refused, and change nothing.

Point it at a desk and a way to snapshot its store. On memory::

    from aftersales.testing import fuzz

    desk, store = aftersales.in_memory_desk(supervisor=boss)
    report = fuzz.Fuzzer(
        desk, supervisor=boss,
        snapshot=lambda: fuzz.memory_snapshot(store),      # everything committed
        quick=lambda: fuzz.memory_fingerprint(store),      # cheap, after every attempt
        checkpoint=lambda: fuzz.memory_checkpoint(store),  # undo what a valid value did
        restore=lambda saved: fuzz.memory_restore(store, saved),
    ).run()
    assert report.ok, report.summary()

On SQL (slower: every table is read after every attempt, and an accepted value costs a new
base command instead of a restore)::

    desk, store = aftersales.sql_desk(url, supervisor=boss)
    report = fuzz.fuzz(desk, supervisor=boss, snapshot=lambda: fuzz.sql_snapshot(store))

Your own commands: pass ``bases={MyCommand: lambda world: MyCommand(...)}`` (a valid command
built on the :class:`FuzzWorld`); a handler without a base is reported.

What it does:

1. It sets up a world on the desk (:class:`FuzzWorld`: staff of every role, customers and their
   contacts, units in and out of warranty, vendors, parts and a stocked warehouse, then a
   request, repair order and outsourced repair in every reachable stage) and, for every
   command class the desk's runner has a handler for (``desk.handlers``), builds a **valid**
   base command from the current state of that world: a request, repair order, outsourced
   repair or reservation in the state the command needs, made for it alone, with
   ``expected_version`` set to its target's version (:data:`SHIPPED_BASES`).
2. For every field of the command (and every field of the value objects it carries, such as
   an intake form, an estimate line or an amount of :class:`~aftersales.domain.values.Money`),
   it substitutes each of :data:`BAD_VALUES` (about 130 classes: None, every wrong type, the
   wrong id, ids as text, empty, blank, NUL, lone surrogates, text at every column bound and
   beyond, huge and negative numbers, NaN and infinite decimals, float money, money in another
   currency or with too many decimals, naive and out-of-range datetimes, dates where datetimes
   belong, members of the wrong enumeration, structures nested 5,000 deep ...), builds the
   command and runs it, without and with an idempotency key.
3. Every attempt with a value that cannot be valid for the field (a wrong type, or a class
   marked :attr:`BadValue.always_invalid` such as NUL or a naive datetime) must raise an
   :class:`~aftersales.errors.AftersalesError` (when the value is built, when the command is
   built or when it runs) and leave the store as it was: ``snapshot()`` (every committed
   aggregate, record, key and event) is compared before and after. A value of the field's own
   type that is merely unusual (None for an optional field, a blank note, a long text within
   bounds, another existing id) is run too, to reach the storage; it may be accepted, and the
   store is then put back (``restore``) or the base command made anew.
4. It calls every typed method of the :class:`~aftersales.service.desk.ServiceDesk` and the
   :class:`~aftersales.service.repairs.RepairDesk` (queries included) with bad actor values:
   each must be refused.
5. Every base command is run at the end of its turn (through the runner, then through its
   typed method): it must succeed, so each substitution was judged against a command that was
   otherwise accepted.

``quick`` is optional: without it the full snapshot is compared after every attempt. With it,
the full snapshot is compared once per command class, and a change the quick check missed (one
made behind the commit path, inside a committed object) makes the fuzzer run that class again
with the full snapshot after every attempt, to name the attempt. (Use ``quick`` with
``restore``: without it, the baseline moves with every accepted value.) The result is a
:class:`FuzzReport` listing every :class:`Finding` (where, which value, at which stage, and for
a raw exception the line of ``aftersales`` that raised it).

The package, by responsibility: :mod:`~aftersales.testing.fuzz.values` (the classes of bad
input), :mod:`~aftersales.testing.fuzz.world` (the :class:`FuzzWorld`),
:mod:`~aftersales.testing.fuzz.bases` (the valid base command of every shipped command class),
:mod:`~aftersales.testing.fuzz.methods` (the desks' typed methods and the queries),
:mod:`~aftersales.testing.fuzz.slots` (where a bad value goes in a command),
:mod:`~aftersales.testing.fuzz.snapshots` (memory and SQL snapshots, restore),
:mod:`~aftersales.testing.fuzz.report` (findings) and :mod:`~aftersales.testing.fuzz.fuzzer`
(the :class:`Fuzzer` and :func:`fuzz`). Import from the package: the modules are its layout, the
names above are its interface.
"""

from __future__ import annotations

from aftersales.testing.fuzz.bases import SHIPPED_ALLOWED, SHIPPED_BASES
from aftersales.testing.fuzz.bases import BaseFactory as BaseFactory
from aftersales.testing.fuzz.fuzzer import Fuzzer, fuzz
from aftersales.testing.fuzz.methods import QUERIES, typed_call, typed_methods
from aftersales.testing.fuzz.report import Finding, FuzzReport
from aftersales.testing.fuzz.snapshots import (
    changed_keys,
    memory_checkpoint,
    memory_fingerprint,
    memory_restore,
    memory_snapshot,
    sql_snapshot,
)
from aftersales.testing.fuzz.values import BAD_VALUES, BadValue, Probe
from aftersales.testing.fuzz.world import ORDER_STAGES, OUTSOURCED_STAGES, FuzzWorld

__all__ = [
    "BAD_VALUES",
    "ORDER_STAGES",
    "OUTSOURCED_STAGES",
    "QUERIES",
    "SHIPPED_ALLOWED",
    "SHIPPED_BASES",
    "BadValue",
    "Finding",
    "FuzzReport",
    "FuzzWorld",
    "Fuzzer",
    "Probe",
    "changed_keys",
    "fuzz",
    "memory_checkpoint",
    "memory_fingerprint",
    "memory_restore",
    "memory_snapshot",
    "sql_snapshot",
    "typed_call",
    "typed_methods",
]


"""A stateful Hypothesis test of the service desk that users can point at their own policies.

:class:`ServiceDeskStateMachine` drives random sequences of :class:`~aftersales.ServiceDesk`
commands, issued by random actors (the clerk, the assigned engineer, another engineer, the
supervisor, a customer representative, the request's customer, another customer), through the
request, remote (R11) and on-site (R12) flows on the in-memory adapter.

Before every command it predicts, from the committed state alone, whether the desk must accept
it (:mod:`aftersales.testing.oracle`): the arguments' validity, the actor in the directory, the
idempotency key and expected version, R30 from the authorization policy's table, and the
workflow definitions' transitions and guards. A command wrongly refused or wrongly accepted
fails the test, and so does a refusal for another reason than the predicted one. An accepted
command must append exactly the predicted record entries (R9), and R8's priority, R12's
approvals and R20's warranty answers are predicted from the configured policies, both ways.

After every step it checks:

- R9: each request's record only grows (the previous record is a prefix of the new one) and
  :func:`~aftersales.workflows.verify_record` replays it to the current state; the events in
  ``store.events`` of each aggregate are numbered 1, 2, 3 ... without gaps;
- R10: nothing is closed without the customer's confirmation (a ``confirm`` entry, not undone
  by a ``reopen``, before the ``close`` entry);
- R12: nothing is closed while an on-site job's approval is ``EMERGENCY_PENDING``, and every
  on-site job that travelled carries ``APPROVED`` or ``RETRO_APPROVED`` when it is closed;
- a refused command (any :class:`~aftersales.errors.AftersalesError`) changes nothing: every
  aggregate (identity and version), ``store.events`` and the idempotency keys are as before.

Any other exception propagates: it is a bug. Subclass it to plug in your own policies::

    class MyDeskFlows(ServiceDeskStateMachine):
        def make_warranty_policy(self) -> WarrantyPolicy:
            return WarrantyPolicy(period_months=24)

    TestMyDeskFlows = MyDeskFlows.TestCase

The package's modules: :mod:`~aftersales.testing.stateful.base` (the desk under test and the
extension points), :mod:`~aftersales.testing.stateful.arguments` (drawing arguments),
:mod:`~aftersales.testing.stateful.prediction` (the oracle), the rules in
:mod:`~aftersales.testing.stateful.flows` and :mod:`~aftersales.testing.stateful.world`,
:mod:`~aftersales.testing.stateful.invariants`, and the tables they share
(:mod:`~aftersales.testing.stateful.tables`).
"""

from __future__ import annotations

from aftersales.testing.stateful.machine import ServiceDeskStateMachine
from aftersales.testing.stateful.tables import ACTOR_KEYS, DESK_COMMANDS

__all__ = ["ACTOR_KEYS", "DESK_COMMANDS", "ServiceDeskStateMachine"]

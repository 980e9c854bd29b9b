"""A stateful Hypothesis test of the repair desk that users can point at their own policies.

:class:`RepairDeskStateMachine` brings units of service requests to the depot and drives
random sequences of :class:`~aftersales.service.repairs.RepairDesk` commands, issued by random
actors (the clerk, the order's engineer, another engineer, the supervisor, a customer
representative, the order's customer, another customer), through depot repair (R13),
outsourced repair (R14) and spare parts (R28) on the in-memory adapter.

Before every command it predicts, from the committed state alone, whether the desk must accept
it (:class:`~aftersales.testing.repair_oracle.RepairOracle`); a command wrongly refused or
wrongly accepted fails the test, and so does a refusal for another reason than the predicted
one. An accepted command must append exactly the predicted record entries (R9), and its
decisions are checked both ways against the configured policies: a diagnosis is free exactly
when R20 (covered on the day of intake) or R21 (back within 15 days of the last pick-up, for a
fault the policy names) says so; a pick-up notice has the short lead below 2 days and the long
one at 2 days or more (R16, absolute time); a delay notice is late exactly when R16 says so;
replaced parts get their own warranty (R21). The clock is driven to those edges: a job of
exactly 2 days ± 1 µs or ± 1 h, a unit back on day 15 or 16 after pick-up, a start near a
daylight-saving change, a unit installed on the first or last day of its coverage.

After every step it checks:

- R13: no order is delivered without a QC that passed after its last repair step;
- R13/R22: no chargeable repair starts or goes to a vendor without the customer's approval of
  the current estimate, and every approval comes from the customer or staff on their behalf;
- R22/R25: a settled amount equals the approved estimate plus the approved additions minus
  the discount (the diagnosis fee when unrepaired; when free, only billed additional work),
  never below zero, a deposit beyond it owed back; every discount was granted by a supervisor;
- R14: a unit is never at two vendors at once (nor in two live outsourced repairs);
- R28: every reservation of a closed order is issued or released; stock levels agree with the
  reservations and never go negative;
- R13 seam: the request of a delivered, returned or replaced order is no longer waiting for
  the depot;
- R9: every order's and outsourced repair's record only grows and replays to its state; each
  aggregate's events are numbered 1, 2, 3 ... without gaps;
- a refused command (any :class:`~aftersales.errors.AftersalesError`) changes nothing: every
  aggregate (identity and version), the idempotency keys and ``store.events``.

Any other exception propagates: it is a bug. Subclass it to plug in your own policies::

    class MyRepairFlows(RepairDeskStateMachine):
        def make_repair_policy(self) -> RepairPolicy:
            return RepairPolicy(max_vendor_attempts=2)

    TestMyRepairFlows = MyRepairFlows.TestCase

The package's modules: :mod:`~aftersales.testing.repair_stateful.base` (the desks under test
and the extension points), :mod:`~aftersales.testing.repair_stateful.paths` (the natural path),
:mod:`~aftersales.testing.repair_stateful.arguments` (drawing arguments),
:mod:`~aftersales.testing.repair_stateful.driving` (issuing and judging commands), the rules in
:mod:`~aftersales.testing.repair_stateful.arrivals` and
:mod:`~aftersales.testing.repair_stateful.rules`,
:mod:`~aftersales.testing.repair_stateful.invariants`, and the tables they share
(:mod:`~aftersales.testing.repair_stateful.tables`); the oracle is
:class:`~aftersales.testing.repair_oracle.RepairOracle`.
"""

from __future__ import annotations

from aftersales.testing.repair_stateful.machine import RepairDeskStateMachine
from aftersales.testing.repair_stateful.tables import REPAIR_ACTOR_KEYS

__all__ = ["REPAIR_ACTOR_KEYS", "RepairDeskStateMachine"]

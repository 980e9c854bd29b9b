"""The repair desk machine: :class:`RepairDeskStateMachine`, its rules, oracle and
invariants put together.

Part of :mod:`aftersales.testing.repair_stateful`: import from there.
"""

from __future__ import annotations

from aftersales.testing.repair_stateful.arrivals import RepairArrivals
from aftersales.testing.repair_stateful.invariants import RepairInvariants
from aftersales.testing.repair_stateful.rules import RepairRules

__all__ = ["RepairDeskStateMachine"]


class RepairDeskStateMachine(RepairInvariants, RepairRules, RepairArrivals):
    """Random command sequences through a :class:`RepairDesk`, each checked against the
    oracle's prediction, and invariants after each step.

    Extension points (override in a subclass):

    - :meth:`make_repair_policy`, :meth:`make_warranty_policy`, :meth:`make_authorization`,
      :meth:`make_clock`, :meth:`make_ids`, :meth:`make_desk` and :meth:`make_repair_desk`
      wire the desks under test; the oracle predicts with the same policies
      (:attr:`repair_policy`, :attr:`warranty_policy`, :attr:`authorization`);
    - :meth:`expected_coverage` (R20), :meth:`expect_permission` (R30),
      :meth:`expected_gross` and :meth:`expected_due` (R22/R25) are the oracle's rules; override
      them when your policy is not driven by parameters and a table;
    - :meth:`check_extra_invariants` adds your own checks on every order after every step;
    - :attr:`excluded_commands` removes commands (e.g. no outsourcing),
      :attr:`preferred_commands` are taken whenever the workflow offers them (e.g. always
      send to a vendor), :attr:`max_orders` bounds the orders of one run,
      :attr:`unit_installed_on` adds installation dates (besides the coverage edges),
      :attr:`start` and :meth:`start_times` say when a run starts, :attr:`command_takes` how
      long the clock moves after each command.

    Read after a run: :attr:`outcomes` counts each command's answers, :attr:`store`,
    :attr:`desk` and :attr:`repairs` are the store and desks under test.

    Run it with ``TestRepairs = RepairDeskStateMachine.TestCase``.
    """

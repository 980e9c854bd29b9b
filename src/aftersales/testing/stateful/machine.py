"""The service desk machine: :class:`ServiceDeskStateMachine`, its rules, oracle and
invariants put together.

Part of :mod:`aftersales.testing.stateful`: import from there.
"""

from __future__ import annotations

from aftersales.testing.stateful.flows import DeskFlowRules
from aftersales.testing.stateful.invariants import DeskInvariants
from aftersales.testing.stateful.world import DeskWorldRules

__all__ = ["ServiceDeskStateMachine"]


class ServiceDeskStateMachine(DeskInvariants, DeskWorldRules, DeskFlowRules):
    """Random command sequences through a :class:`ServiceDesk`, each checked against the
    oracle's prediction, and invariants after each step.

    Extension points (override in a subclass):

    - :meth:`make_priority_matrix`, :meth:`make_warranty_policy`, :meth:`make_authorization`,
      :meth:`make_clock`, :meth:`make_ids` and :meth:`make_desk` wire the desk under test;
      the oracle predicts with the same policies (:attr:`priority_matrix`,
      :attr:`warranty_policy`, :attr:`authorization`);
    - :meth:`expected_priority`, :meth:`expected_coverage` and :meth:`expect_permission` are
      the oracle's R8, R20 and R30 (read from the policies' parameters and tables); override
      them when your policy is not table-driven;
    - :meth:`check_extra_invariants` adds your own checks on every request after every step,
      :meth:`check_warranty_determination` on every warranty answer;
    - :attr:`excluded_commands` removes commands (e.g. force the remote-only path);
      :attr:`max_requests` bounds how many requests one run registers; :attr:`start` and
      :meth:`start_times` say when a run starts; :attr:`command_takes` how long the clock
      moves after each command.

    Read after a run: :attr:`outcomes` counts each command's answers (``"assign: done"``,
    ``"assign: refused (NotAuthorized)"``), :attr:`store` and :attr:`desk` are the store and
    desk under test.

    Run it with ``TestFlows = ServiceDeskStateMachine.TestCase`` (or a subclass's ``TestCase``).
    """

"""The repair oracle: :class:`RepairOracle`, its predictions and checks put together.

Part of :mod:`aftersales.testing.repair_oracle`: import from there.
"""

from __future__ import annotations

from aftersales.testing.repair_oracle.checks import RepairChecks
from aftersales.testing.repair_oracle.prediction import RepairPrediction

__all__ = ["RepairOracle"]


class RepairOracle(RepairChecks, RepairPrediction):
    """The predictions of the repair machine (mixed into it); see the package documentation.

    Override :meth:`expected_coverage` or :meth:`expect_permission` when your warranty or
    authorization policy is not driven by parameters and a table."""

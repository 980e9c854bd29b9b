"""The oracle of :class:`~aftersales.testing.repair_stateful.RepairDeskStateMachine`.

:class:`RepairOracle` predicts, from the committed state alone, whether each repair desk
command must be accepted (see :mod:`aftersales.testing.oracle` for the stages): the depot and
outsourced workflow definitions' transitions and guards, the checks the handlers make on the
other aggregates they read (the catalogue, the stock, the vendors, the unit's other orders),
R30 from the authorization policy's table, and R16, R20, R21, R22 and R25 from the configured
policies' parameters. After an accepted command it checks the record entries the command
appended (R9) and what it decided: a diagnosis's warranty determination and free repair (R20,
R21), a pick-up notice's lead (R16), a delay notice's lateness (R15/R16), the replaced parts'
own warranties (R21).

The package's modules: :mod:`~aftersales.testing.repair_oracle.policies` (the policies' rules),
the predictions in :mod:`~aftersales.testing.repair_oracle.prediction`,
:mod:`~aftersales.testing.repair_oracle.depot`,
:mod:`~aftersales.testing.repair_oracle.outsourced` and
:mod:`~aftersales.testing.repair_oracle.parts`, the checks after an accepted command in
:mod:`~aftersales.testing.repair_oracle.checks`, and the tables they share
(:mod:`~aftersales.testing.repair_oracle.tables`).
"""

from __future__ import annotations

from aftersales.testing.repair_oracle.oracle import RepairOracle
from aftersales.testing.repair_oracle.tables import (
    FINISHED,
    LIVE_OUTSOURCED,
    OUTSOURCED_TARGETED,
    STOCK_TARGETED,
)

__all__ = [
    "FINISHED",
    "LIVE_OUTSOURCED",
    "OUTSOURCED_TARGETED",
    "STOCK_TARGETED",
    "RepairOracle",
]

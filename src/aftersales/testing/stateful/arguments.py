"""Drawing the keyword arguments of each service desk command, valid or not.

Part of :mod:`aftersales.testing.stateful`: import from there.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from aftersales.testing import strategies
from aftersales.testing.stateful.base import DeskMachineBase
from aftersales.testing.stateful.tables import _NOTE_ARGUMENTS, _TEXT_ARGUMENTS

__all__ = ["DeskArguments"]


class DeskArguments(DeskMachineBase):
    """The arguments the machine sends with each command."""

    def command_arguments(
        self, command: str, *, valid: bool
    ) -> st.SearchStrategy[dict[str, Any]]:
        """Keyword arguments for ``command``; with ``valid=False`` texts may be blank, ratings
        out of range, fees negative and the engineer not an engineer."""
        text = strategies.words() if valid else strategies.words_or_blank()
        later = strategies.aware_datetimes(min_value=datetime(2026, 11, 1),
                                           max_value=datetime(2028, 1, 1))
        fields: dict[str, st.SearchStrategy[Any]] = {
            name: text for name, _ in _TEXT_ARGUMENTS.get(command, ())
        }
        if command in _NOTE_ARGUMENTS:
            fields["note"] = strategies.words_or_blank()
        if command == "assign":
            pool = [e.id for e in self.engineers]
            fields["engineer_id"] = st.sampled_from(
                pool if valid else [*pool, self.clerk.id, UUID(int=999)]
            )
        elif command == "record_contact":
            fields["channel"] = strategies.channels()
        elif command in ("escalate_onsite", "start_onsite"):
            fields["promised_at"] = st.none() | later
        elif command == "plan_revisit":
            fields["promised_at"] = later
        elif command == "reschedule":
            fields["new_time"] = later
        elif command == "sign_off":
            fields["rating"] = st.none() | st.integers(min_value=1, max_value=5)
            if not valid:
                fields["rating"] = st.none() | st.integers(min_value=-1, max_value=7)
            fields["fee"] = st.none() | strategies.money(
                currency="CNY", min_value=Decimal(0 if valid else -100),
                max_value=Decimal(100_000),
            )
        return st.fixed_dictionaries(fields)

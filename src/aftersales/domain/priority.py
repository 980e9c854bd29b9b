"""R8: priority from impact × urgency, through a replaceable matrix."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from aftersales.domain.values import Impact, Priority, Urgency
from aftersales.errors import ConfigurationError, ValidationError

__all__ = ["DEFAULT_PRIORITY_TABLE", "PriorityMatrix"]

# R8 default: the ITIL-style matrix. Rows are impact (extensive .. minor), columns urgency.
DEFAULT_PRIORITY_TABLE: Mapping[tuple[Impact, Urgency], Priority] = {
    (Impact.EXTENSIVE, Urgency.HIGH): Priority.P1,
    (Impact.EXTENSIVE, Urgency.MEDIUM): Priority.P1,
    (Impact.EXTENSIVE, Urgency.LOW): Priority.P2,
    (Impact.SIGNIFICANT, Urgency.HIGH): Priority.P1,
    (Impact.SIGNIFICANT, Urgency.MEDIUM): Priority.P2,
    (Impact.SIGNIFICANT, Urgency.LOW): Priority.P3,
    (Impact.MODERATE, Urgency.HIGH): Priority.P2,
    (Impact.MODERATE, Urgency.MEDIUM): Priority.P3,
    (Impact.MODERATE, Urgency.LOW): Priority.P4,
    (Impact.MINOR, Urgency.HIGH): Priority.P3,
    (Impact.MINOR, Urgency.MEDIUM): Priority.P4,
    (Impact.MINOR, Urgency.LOW): Priority.P4,
}


@attrs.frozen
class PriorityMatrix:
    """Maps (impact, urgency) to a priority. Replace the table to change the policy (R8).

    The table must cover every combination; a gap is a configuration error, found when the
    matrix is built rather than when a request arrives.
    """

    table: Mapping[tuple[Impact, Urgency], Priority] = attrs.field(
        factory=lambda: dict(DEFAULT_PRIORITY_TABLE)
    )

    def __attrs_post_init__(self) -> None:
        missing = [(i, u) for i in Impact for u in Urgency if (i, u) not in self.table]
        if missing:
            names = ", ".join(f"{i.name}×{u.name}" for i, u in missing)
            raise ConfigurationError(f"priority matrix does not cover {names}")
        wrong = [(i, u) for i in Impact for u in Urgency
                 if not isinstance(self.table[(i, u)], Priority)]
        if wrong:
            names = ", ".join(f"{i.name}×{u.name}" for i, u in wrong)
            raise ConfigurationError(f"priority matrix cells {names} are not Priority values")

    def priority(self, impact: Impact, urgency: Urgency) -> Priority:
        """The priority of a request with this impact and urgency."""
        if not isinstance(impact, Impact):
            raise ValidationError("ServiceRequest", "impact", f"unknown impact {impact!r}")
        if not isinstance(urgency, Urgency):
            raise ValidationError("ServiceRequest", "urgency", f"unknown urgency {urgency!r}")
        return self.table[(impact, urgency)]

"""R20: warranty determination as a policy object.

The policy says whether a unit is in warranty on a given day, which date that was based on
(installation/acceptance, invoice, or the production-date fallback when there is no invoice,
or a service contract), and which exclusion applied. Periods and grace are parameters.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable
from datetime import date
from uuid import UUID

import attrs

from aftersales.domain.records import Equipment, ServicePlan
from aftersales.errors import ConfigurationError, ValidationError

__all__ = [
    "Exclusion",
    "WarrantyBasis",
    "WarrantyDetermination",
    "WarrantyPolicy",
    "add_months",
]


class Exclusion(enum.StrEnum):
    """R20: findings that put a repair outside warranty coverage."""

    HUMAN_DAMAGE = "human_damage"
    UNAUTHORISED_MODIFICATION = "unauthorised_modification"
    THIRD_PARTY_PARTS = "third_party_parts"  # added by the customer or a dealer
    CONSUMABLES = "consumables"
    UNLISTED_PERIPHERAL = "unlisted_peripheral"


class WarrantyBasis(enum.StrEnum):
    """R20: which date the coverage was computed from."""

    INSTALLATION = "installation"
    INVOICE = "invoice"
    PRODUCTION_FALLBACK = "production_fallback"
    SERVICE_PLAN = "service_plan"
    NONE = "none"  # no usable date on file: not in warranty


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


@attrs.frozen
class WarrantyDetermination:
    """The outcome of a warranty check, with everything needed to explain it to a customer."""

    in_warranty: bool
    basis: WarrantyBasis
    checked_on: date
    starts_on: date | None
    ends_on: date | None
    exclusion: Exclusion | None = None
    service_plan_id: UUID | None = None

    @property
    def chargeable(self) -> bool:
        """R20: not in warranty (or excluded) means parts, labour and call-out are charged."""
        return not self.in_warranty

    def explain(self) -> str:
        """One sentence for the repair order and the customer."""
        if self.exclusion is not None:
            return f"out of warranty: excluded ({self.exclusion.value})"
        if self.basis is WarrantyBasis.NONE:
            return "out of warranty: no installation, invoice or production date on file"
        span = f"{self.starts_on} to {self.ends_on}"
        state = "in warranty" if self.in_warranty else "out of warranty"
        return f"{state}: coverage {span} based on {self.basis.value} date"


@attrs.frozen
class WarrantyPolicy:
    """R20 as parameters.

    - ``period_months``: coverage length from the basis date (default 12 months).
    - ``basis_order``: which dates start coverage, first available wins (default: installation
      / acceptance, then invoice).
    - ``production_grace_months``: without an invoice, coverage starts at the production date
      plus this grace (default 3 months) and the determination says so.
    - ``exclusions``: findings that void coverage (default: all of :class:`Exclusion`).
    - ``service_plans_extend``: a covering service plan puts the unit in coverage.
    """

    period_months: int = 12
    basis_order: tuple[WarrantyBasis, ...] = (WarrantyBasis.INSTALLATION, WarrantyBasis.INVOICE)
    production_grace_months: int = 3
    exclusions: frozenset[Exclusion] = attrs.field(
        factory=lambda: frozenset(Exclusion), converter=frozenset
    )
    service_plans_extend: bool = True

    def __attrs_post_init__(self) -> None:
        if self.period_months < 0 or self.production_grace_months < 0:
            raise ConfigurationError("warranty periods must not be negative")
        allowed = {WarrantyBasis.INSTALLATION, WarrantyBasis.INVOICE}
        if not self.basis_order or not set(self.basis_order) <= allowed:
            raise ConfigurationError("basis_order may name only installation and invoice")

    def coverage_start(self, equipment: Equipment) -> tuple[WarrantyBasis, date | None]:
        """The basis and the date coverage starts from, per ``basis_order`` and the fallback."""
        for basis in self.basis_order:
            if basis is WarrantyBasis.INSTALLATION and equipment.installed_on is not None:
                return basis, equipment.installed_on
            if basis is WarrantyBasis.INVOICE and equipment.has_invoice:
                return basis, equipment.purchased_on
        if equipment.produced_on is not None:
            return (
                WarrantyBasis.PRODUCTION_FALLBACK,
                add_months(equipment.produced_on, self.production_grace_months),
            )
        return WarrantyBasis.NONE, None

    def determine(
        self,
        equipment: Equipment,
        on: date,
        findings: Iterable[Exclusion] = (),
        plans: Iterable[ServicePlan] = (),
    ) -> WarrantyDetermination:
        """Decide coverage of ``equipment`` on day ``on`` given the diagnosis ``findings``."""
        if not isinstance(on, date):
            raise ValidationError("Equipment", "checked_on", "must be a date")
        findings = tuple(findings)
        for finding in findings:
            if not isinstance(finding, Exclusion):
                raise ValidationError("Equipment", "findings", f"unknown finding {finding!r}")
        basis, start = self.coverage_start(equipment)
        end = add_months(start, self.period_months) if start is not None else None
        exclusion = next((f for f in findings if f in self.exclusions), None)
        if exclusion is not None:
            return WarrantyDetermination(False, basis, on, start, end, exclusion)
        if start is not None and end is not None and start <= on < end:
            return WarrantyDetermination(True, basis, on, start, end)
        if self.service_plans_extend:
            for plan in plans:
                if plan.extends_warranty and plan.covers(equipment.id, on):
                    return WarrantyDetermination(
                        True, WarrantyBasis.SERVICE_PLAN, on, plan.starts_on, plan.ends_on,
                        service_plan_id=plan.id,
                    )
        return WarrantyDetermination(False, basis, on, start, end)

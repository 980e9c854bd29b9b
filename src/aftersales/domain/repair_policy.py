"""The repair policy (R13-R16, R21-R23, R25) and its pure computations.

Every number of the rule book is a default of :class:`RepairPolicy`; the functions here compute
progress checks, pick-up notices, free re-repairs, repeat failures, deposits, appointment
reminders and vendor chases from it, in absolute time (calendar days in the policy's zone)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import ROUND_UP, Decimal

import attrs

from aftersales.domain.repair_values import (
    Appointment,
    EstimateLine,
    FaultClass,
    FaultKind,
    RepairHistoryItem,
    _checklist,
)
from aftersales.domain.values import Money, elapsed, shifted
from aftersales.errors import ConfigurationError, ValidationError

__all__ = [
    "DEFAULT_FAULT_CODES",
    "DEFAULT_QC_CHECKLIST",
    "FaultCatalogue",
    "RepairPolicy",
    "appointment_reminder_at",
    "book_appointment",
    "count_repeat_failures",
    "is_free_rerepair",
    "next_vendor_chase",
    "pickup_notice_at",
    "pickup_notice_lead",
    "progress_check_at",
    "required_deposit",
    "should_offer_replacement",
]


# --- policy ----------------------------------------------------------------------------------

#: R21: the default fault codes (any product line): what "the same fault" means.
DEFAULT_FAULT_CODES: Mapping[str, str] = {
    "HW-BOARD": "main board / controller",
    "HW-POWER": "power supply, battery, charging",
    "HW-STORAGE": "disk or other storage",
    "HW-MEMORY": "memory",
    "HW-DISPLAY": "display, backlight",
    "HW-INPUT": "keyboard, pointing device, buttons",
    "HW-PORT": "ports and connectors",
    "HW-NETWORK": "network hardware",
    "HW-THERMAL": "fans, cooling",
    "HW-MECHANICAL": "case, hinges, mechanics",
    "HW-OTHER": "other hardware",
    "SW-OS": "operating system (tuning, restore)",
    "SW-DRIVER": "drivers and firmware",
    "SW-APP": "applications",
    "SW-VIRUS": "malware",
    "SW-OTHER": "other software",
}


def _code_table(values: Mapping[str, str]) -> dict[str, str]:
    table = dict(values)
    for code, label in table.items():
        if not isinstance(code, str) or not code.strip() or len(code) > 40:
            raise ConfigurationError(f"fault code {code!r} must be 1-40 characters")
        if not isinstance(label, str):
            raise ConfigurationError(f"fault code {code}: the label must be text")
    return table


def _line_tables(values: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    return {str(line): _code_table(codes) for line, codes in values.items()}


@attrs.frozen
class FaultCatalogue:
    """R21: fault codes per product line (a code → its label). A line with no catalogue of
    its own uses ``default``; the diagnosis names a code from it, the free text describes."""

    default: Mapping[str, str] = attrs.field(
        factory=lambda: dict(DEFAULT_FAULT_CODES), converter=_code_table
    )
    by_product_line: Mapping[str, Mapping[str, str]] = attrs.field(
        factory=dict, converter=_line_tables
    )

    def codes_for(self, product_line: str) -> Mapping[str, str]:
        """The codes a unit of ``product_line`` may be diagnosed with."""
        return self.by_product_line.get(product_line, self.default)

    def check(self, product_line: str, code: object) -> str:
        """``code`` if the catalogue of ``product_line`` lists it, else ValidationError."""
        codes = self.codes_for(product_line)
        if not isinstance(code, str) or code not in codes:
            shown = ", ".join(sorted(codes)[:8]) + (" ..." if len(codes) > 8 else "")
            raise ValidationError(
                "RepairOrder", "fault_code",
                f"{code!r} is not a fault code of product line {product_line or '(any)'!r} "
                f"({shown})",
            )
        return code


#: R13: the default self re-inspection checklist for a PC or similar equipment.
DEFAULT_QC_CHECKLIST: tuple[str, ...] = (
    "appearance matches the intake form",
    "accessories complete per the intake checklist",
    "powers on and passes self-test",
    "display: no dead pixels, backlight even",
    "keyboard and pointing device",
    "ports: USB, audio, video",
    "network: wired and wireless",
    "storage: health check and data as agreed",
    "memory test",
    "battery and charging",
    "thermal: fans and temperature under load",
    "operating system and drivers start cleanly",
    "reported fault no longer reproducible",
)


def _positive(value: timedelta, name: str) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigurationError(f"RepairPolicy.{name} must be a positive duration")


@attrs.frozen
class RepairPolicy:
    """R13-R16, R21, R22 as parameters; every number of DOMAIN.md is a default here.

    - ``currency``: the currency of estimates and settlements (default CNY).
    - ``qc_checklist``: the QC items (default :data:`DEFAULT_QC_CHECKLIST`), copied onto each
      order when it is opened.
    - ``diagnosis_fee``: charged when a customer declines a chargeable estimate (None: free).
    - ``progress_check_fraction``: R15, the progress check at this share of the promised
      duration (default 0.75, DOMAIN.md says 70-80 %).
    - ``long_job_threshold``, ``short_job_notice``, ``long_job_notice``: R16, a job that took
      less than the threshold (2 days) gets 1 h of pick-up notice; 2 days or more get 4 h.
    - ``rerepair_window_days``, ``rerepair_free_kinds``, ``rerepair_same_fault_free``: R21,
      a unit back within 15 days (inclusive) of pick-up gets a free service of these kinds
      (default: a software fault); the same fault again is free only if the flag says so.
    - ``repeat_failure_threshold``: R21, after this many in-warranty repairs of the same
      quality fault a replacement is proposed (default 2).
    - ``replaced_part_warranty_months``: R21, a replaced part's own warranty when its catalogue
      entry names none (default 3 months).
    - ``vendor_chase_lead``, ``vendor_chase_every``: R15, chase the vendor 12 h before its
      promised date, then every 24 h.
    - ``max_vendor_attempts``: R14, how many vendors may be tried for one unit (default 3).
    - ``deposit_share``, ``expensive_part_from``: R23, a part we must order that costs at least
      this amount (default 1000 in ``currency``) needs a deposit of at least this share of its
      price (default one half) before it is ordered.
    - ``appointment_reminder_lead``: R23, the reminder goes out this long before a booked slot
      (default 24 h).
    - ``bill_additional_work_when_free``: R13/R25, priced additional work the customer
      approved on an otherwise free (in-warranty) order is billed (default True).
    - ``zone``: the time zone whose calendar days count (R20 coverage day, R21 window, part
      warranties); default China Standard Time (UTC+8). Durations are absolute time.
    - ``fault_codes``: R21, the fault-code catalogue per product line; "the same fault" is the
      same code, never the same free text.
    """

    currency: str = "CNY"
    qc_checklist: tuple[str, ...] = attrs.field(
        default=DEFAULT_QC_CHECKLIST, converter=_checklist
    )
    diagnosis_fee: Money | None = None
    progress_check_fraction: float = 0.75
    long_job_threshold: timedelta = timedelta(days=2)
    short_job_notice: timedelta = timedelta(hours=1)
    long_job_notice: timedelta = timedelta(hours=4)
    rerepair_window_days: int = 15
    rerepair_free_kinds: frozenset[FaultKind] = attrs.field(
        default=frozenset({FaultKind.SOFTWARE}), converter=frozenset
    )
    rerepair_same_fault_free: bool = False
    repeat_failure_threshold: int = 2
    replaced_part_warranty_months: int = 3
    vendor_chase_lead: timedelta = timedelta(hours=12)
    vendor_chase_every: timedelta = timedelta(hours=24)
    max_vendor_attempts: int = 3
    deposit_share: Decimal = Decimal("0.5")
    expensive_part_from: Decimal = Decimal(1000)
    appointment_reminder_lead: timedelta = timedelta(hours=24)
    bill_additional_work_when_free: bool = True
    zone: tzinfo = timezone(timedelta(hours=8))
    fault_codes: FaultCatalogue = attrs.field(factory=lambda: FaultCatalogue())

    def __attrs_post_init__(self) -> None:
        try:
            Money.zero(self.currency)
        except ValidationError as exc:
            raise ConfigurationError(f"RepairPolicy.currency: {exc}") from None
        if not self.qc_checklist:
            raise ConfigurationError("RepairPolicy.qc_checklist needs at least one item")
        fee = self.diagnosis_fee
        if fee is not None and (
            not isinstance(fee, Money) or fee.amount < 0 or fee.currency != self.currency
        ):
            raise ConfigurationError("RepairPolicy.diagnosis_fee must be Money >= 0 in currency")
        if not 0 < self.progress_check_fraction < 1:
            raise ConfigurationError("RepairPolicy.progress_check_fraction must be in (0, 1)")
        if not isinstance(self.deposit_share, Decimal) or not 0 <= self.deposit_share <= 1:
            raise ConfigurationError("RepairPolicy.deposit_share must be a Decimal in [0, 1]")
        if not isinstance(self.expensive_part_from, Decimal) or self.expensive_part_from < 0:
            raise ConfigurationError("RepairPolicy.expensive_part_from must be a Decimal >= 0")
        for name in ("long_job_threshold", "short_job_notice", "long_job_notice",
                     "vendor_chase_lead", "vendor_chase_every", "appointment_reminder_lead"):
            _positive(getattr(self, name), name)
        for name in ("rerepair_window_days", "replaced_part_warranty_months"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"RepairPolicy.{name} must not be negative")
        for name in ("repeat_failure_threshold", "max_vendor_attempts"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"RepairPolicy.{name} must be at least 1")
        if not all(isinstance(k, FaultKind) for k in self.rerepair_free_kinds):
            raise ConfigurationError("RepairPolicy.rerepair_free_kinds must be FaultKind values")
        if not isinstance(self.zone, tzinfo):
            raise ConfigurationError("RepairPolicy.zone must be a tzinfo")
        if not isinstance(self.fault_codes, FaultCatalogue):
            raise ConfigurationError("RepairPolicy.fault_codes must be a FaultCatalogue")
        if not isinstance(self.bill_additional_work_when_free, bool):
            raise ConfigurationError("RepairPolicy.bill_additional_work_when_free is a bool")


# --- pure policy computations (R15, R16, R21) ------------------------------------------------


def progress_check_at(policy: RepairPolicy, received_at: datetime, promised_at: datetime) -> (
    datetime
):
    """R15: when to check progress: at ``progress_check_fraction`` of the promised duration."""
    return shifted(received_at, elapsed(received_at, promised_at) * policy.progress_check_fraction)


def pickup_notice_lead(policy: RepairPolicy, job_took: timedelta) -> timedelta:
    """R16: 1 h of notice for a job under 2 days, 4 h for 2 days or more (2 days exactly: 4 h)."""
    return policy.long_job_notice if job_took >= policy.long_job_threshold else (
        policy.short_job_notice
    )


def pickup_notice_at(
    policy: RepairPolicy, received_at: datetime, ready_at: datetime, pickup_at: datetime
) -> datetime:
    """R16: when to tell the customer, for a unit received and ready at these times."""
    return shifted(pickup_at, -pickup_notice_lead(policy, elapsed(received_at, ready_at)))


def is_free_rerepair(
    policy: RepairPolicy, picked_up_at: datetime, back_at: datetime, fault_kind: FaultKind,
    *, same_fault: bool = False,
) -> bool:
    """R21: a unit back within ``rerepair_window_days`` (inclusive, by calendar day in the
    policy's ``zone``) gets a free service of the kinds the policy names; a repeat of the
    same fault is free too only when ``rerepair_same_fault_free``."""
    zone = policy.zone
    days = (back_at.astimezone(zone).date() - picked_up_at.astimezone(zone).date()).days
    if not 0 <= days <= policy.rerepair_window_days:
        return False
    return fault_kind in policy.rerepair_free_kinds or (
        same_fault and policy.rerepair_same_fault_free
    )


def count_repeat_failures(history: Iterable[RepairHistoryItem], fault_code: str) -> int:
    """R21: earlier completed in-warranty repairs of the same quality fault."""
    return sum(
        1 for item in history
        if item.fault_code == fault_code and item.fault_class is FaultClass.QUALITY
        and item.in_warranty and item.picked_up_at is not None
    )


def should_offer_replacement(
    history: Iterable[RepairHistoryItem], fault_code: str, policy: RepairPolicy | None = None
) -> bool:
    """R21 (三包): the same quality fault is back after ``repeat_failure_threshold`` (2)
    in-warranty repairs: propose a replacement with the same model or better."""
    threshold = (policy or RepairPolicy()).repeat_failure_threshold
    return count_repeat_failures(history, fault_code) >= threshold


def _deposit(lines: Iterable[EstimateLine], share: Decimal, threshold: Decimal,
             currency: str) -> Money:
    total = Money.zero(currency)
    for line in lines:
        if line.to_order and line.amount.amount >= threshold:
            total = total + line.amount
    return total.times(share, ROUND_UP)  # R23: "at least" half: round up


def required_deposit(policy: RepairPolicy, lines: Iterable[EstimateLine]) -> Money:
    """R23: at least ``deposit_share`` (half) of the price of the expensive parts that must be
    ordered (part lines we supply, ``to_order``, priced at ``expensive_part_from`` or more)."""
    return _deposit(lines, policy.deposit_share, policy.expensive_part_from, policy.currency)


def appointment_reminder_at(policy: RepairPolicy, slot_start: datetime) -> datetime:
    """R23: when to remind the customer of a booked slot."""
    return shifted(slot_start, -policy.appointment_reminder_lead)


def book_appointment(
    policy: RepairPolicy, slot_start: datetime, slot_end: datetime, booked_at: datetime
) -> Appointment:
    """R23: a booked slot with its reminder ``appointment_reminder_lead`` before the start
    (never before the booking itself)."""
    reminder = max(appointment_reminder_at(policy, slot_start), booked_at)
    return Appointment(slot_start, slot_end, booked_at, reminder)


def next_vendor_chase(
    policy: RepairPolicy, promised_by: datetime, last_chase_at: datetime | None
) -> datetime:
    """R15: the first chase is ``vendor_chase_lead`` (12 h) before the vendor's promised date;
    after that, every ``vendor_chase_every``."""
    first = shifted(promised_by, -policy.vendor_chase_lead)
    if last_chase_at is None or last_chase_at < first:
        return first
    return shifted(last_chase_at, policy.vendor_chase_every)

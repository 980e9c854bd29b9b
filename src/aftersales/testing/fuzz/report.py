"""What a fuzz run found: :class:`Finding`, :class:`FuzzReport`."""

from __future__ import annotations

import traceback
from collections import Counter

import attrs

from aftersales.errors import AftersalesError


@attrs.frozen
class Finding:
    """One failure: ``where`` (``Command.field`` or ``method(actor)``), the bad value's label,
    the ``stage`` (``value``, ``construct`` or ``execute``: a raw exception there;
    ``accepted``: a value that cannot be valid was accepted; ``changed``: a refused attempt
    changed the store; ``base``: the valid base command was refused; ``coverage``: nothing to
    fuzz it with) and what happened."""

    where: str
    value: str
    stage: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where} ← {self.value}: {self.stage}: {self.detail}"


@attrs.define
class FuzzReport:
    """What a fuzz run did and found."""

    findings: list[Finding] = attrs.field(factory=list)
    attempts: int = 0
    outcomes: Counter[str] = attrs.field(factory=Counter)
    commands: list[str] = attrs.field(factory=list)
    methods: list[str] = attrs.field(factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.findings

    def summary(self, limit: int = 60) -> str:
        """The counts, and the first ``limit`` findings."""
        lines = [f"{self.attempts} attempts on {len(self.commands)} commands and "
                 f"{len(self.methods)} typed methods: "
                 + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())),
                 f"{len(self.findings)} findings"]
        lines.extend(f"- {f}" for f in self.findings[:limit])
        return "\n".join(lines)



def _describe(error: BaseException) -> str:
    """The error, and for a raw one where in ``aftersales`` it was raised."""
    try:
        text = str(error)[:200]
    except Exception:
        text = "(unprintable)"
    where = ""
    if not isinstance(error, AftersalesError):
        frames = [f for f in traceback.extract_tb(error.__traceback__)
                  if "aftersales" in f.filename]
        if frames:
            last = frames[-1]
            where = f" at {last.filename.rsplit('aftersales/', 1)[-1]}:{last.lineno}"
    return f"{type(error).__name__}: {text}{where}"

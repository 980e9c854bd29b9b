"""``aftersales demo``: a scripted day at a service desk (filled in below)."""

from __future__ import annotations


def run_demo(db: str | None = None) -> int:
    """Run the demo; return the process exit code."""
    raise NotImplementedError

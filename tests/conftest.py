"""Shared test configuration: Hypothesis profiles, and a clean event registry per test.

``ci`` (the default) has no deadline (shared CI machines stall) and prints the reproduction
blob of a failure; ``dev`` runs fewer examples for a quick loop. Pick one with
``HYPOTHESIS_PROFILE=dev pytest``. Tests that need a fixed number of examples set it
themselves with ``@settings(...)``, which inherits the rest from the loaded profile.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from aftersales.domain.kernel import EVENT_TYPES

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", parent=settings.get_profile("ci"), max_examples=20)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _event_types_restored() -> Iterator[None]:
    """Event classes a test defines (a docs example run with ``exec``, a class inside a test)
    register themselves in ``EVENT_TYPES``; forget them afterwards, so that no later test
    meets another test's events (the event strategies draw every registered type)."""
    saved = dict(EVENT_TYPES)
    yield
    if saved != EVENT_TYPES:
        EVENT_TYPES.clear()
        EVENT_TYPES.update(saved)

"""Shared test configuration: Hypothesis profiles.

``ci`` (the default) has no deadline (shared CI machines stall) and prints the reproduction
blob of a failure; ``dev`` runs fewer examples for a quick loop. Pick one with
``HYPOTHESIS_PROFILE=dev pytest``. Tests that need a fixed number of examples set it
themselves with ``@settings(...)``, which inherits the rest from the loaded profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", parent=settings.get_profile("ci"), max_examples=20)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

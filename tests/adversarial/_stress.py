"""How long the adversarial race tests run: seconds in CI, longer under a stress scale.

A module of its own, not the conftest: spawned worker processes import it by this name, where
``conftest`` could be either of the two conftest files on their path.
"""

from __future__ import annotations

import os

SCALE = float(os.environ.get("SHAREDMEM_STRESS_SCALE", "1"))


def race_seconds(base: float) -> float:
    """How long a race test runs: ``base`` seconds, times ``SHAREDMEM_STRESS_SCALE``."""
    return base * SCALE

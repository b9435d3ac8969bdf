"""The adversarial suite: tests whose subject is an attacker, asserting invariants.

Each test plays a malicious agent with its own grants, a writer racing readers in another
process, a revoked agent, a stale cache or a crafted row, and checks one of the invariants
docs/security.md lists:

- I1: no read through any API returns a value from a scope the viewer could not read then;
- I2: no claim that arrived quarantined is returned as verified without a validation decision;
- I3: no cached tool result crosses a user/run boundary unless the cache call said so;
- I4: nothing a viewer reads outlives the revocation of its right to read it.

Race tests run for ``race_seconds(base)`` seconds (`tests.adversarial._stress`): ``base`` in
CI, longer under ``SHAREDMEM_STRESS_SCALE`` (e.g. ``SHAREDMEM_STRESS_SCALE=20 pytest
tests/adversarial``). Property tests draw ``hypothesis`` examples under the same scale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# The process harness (`_spawn`) and worker modules live one folder up; `tests.adversarial`
# is imported from the repository's root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.adversarial._stress import SCALE  # noqa: E402

settings.register_profile(
    "adversarial",
    max_examples=max(10, int(40 * SCALE)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

"""Processes of the I2 race (test_quarantine.py): quarantined attackers, a trusted writer and
downstream readers on one database, importable by child processes under spawn.

Attackers write values starting with ``evil-``; only the trusted writer writes ``good-``
values. A reader that ever gets an ``evil-`` value as verified has seen a quarantined claim
promoted without a validation decision.
"""

from __future__ import annotations

import random
import time
import traceback
from typing import Any

from langgraph_sharedmem import FactConflictError, SharedMemory, TrustRanking

ATTRS = ("plan", "tier")  # latest wins, trust ranking
ATTACKERS = ("mallory-1", "mallory-2")
TRUSTED = ("ops", "ops2")
READERS = ("reader-3", "reader-4")
VALIDATOR = "checker"


def _open(path: str) -> SharedMemory:
    # No matcher: "evil-1-7" and "good-3" differ in digits and would never fold anyway, and
    # five processes loading the embedder would eat the race's seconds.
    mem = SharedMemory.open(path, index=None, fact_matcher=None)
    # Policies live in the process: every process sets the same ones. Under trust ranking
    # the attackers rank highest: only the rule keeps their quarantined claims out.
    mem.facts.set_policy("latest_wins", attribute="plan")
    mem.facts.set_policy(
        TrustRanking({**dict.fromkeys(ATTACKERS, 9), "ops": 2, "ops2": 1}), attribute="tier"
    )
    for agent in TRUSTED:
        mem.facts.set_quarantine(False, agent=agent)
    return mem


def prepare(path: str) -> None:
    """Register the agents with their grants and seed each fact with a trusted value."""
    with SharedMemory.open(path, index=None, fact_matcher=None) as mem:
        for agent in (*ATTACKERS, *TRUSTED, *READERS, VALIDATOR):
            mem.register_agent(agent)
            mem.access.grant_scope(agent, "app", read=True, write=agent not in READERS)
        mem.facts.add_validator(VALIDATOR)
        for attr in ATTRS:
            mem.facts.assert_fact("app", "acct", attr, "good-seed", author="ops")


def act(path: str, role: str, i: int, seconds: float, barrier: Any, results: Any) -> None:
    """Play ``role`` for ``seconds``; report (role, i, operations done, evil values seen)."""
    done, seen = 0, set()
    try:
        with _open(path) as mem:
            mem.facts.setup()
            rng = random.Random(i)
            barrier.wait(timeout=120)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                attr = rng.choice(ATTRS)
                if role == "trusted":
                    _trusted_step(mem, rng, attr, done)
                elif role == "attacker":
                    _attack_step(mem, rng, attr, i, done)
                else:
                    seen |= _read_step(mem, rng, attr, f"reader-{i}")
                done += 1
        results.put((role, i, done, sorted(seen)))
    except BaseException:
        results.put(("error", i, done, traceback.format_exc()))


def _trusted_step(mem: SharedMemory, rng: random.Random, attr: str, n: int) -> None:
    author = rng.choice(TRUSTED)
    mem.agent(author).facts.assert_fact("app", "acct", attr, f"good-{n % 7}")
    time.sleep(0.005)  # let the attackers hold disputes open between trusted updates


def _attack_step(mem: SharedMemory, rng: random.Random, attr: str, i: int, n: int) -> None:
    view = mem.agent(f"mallory-{i}").facts
    value = rng.choice([f"evil-{i}-{n % 5}", "good-seed", f"good-{n % 7}"])
    current = mem.facts.get("app", "acct", attr)
    expected = current.version if current is not None and rng.random() < 0.5 else None
    try:
        change = view.assert_fact("app", "acct", attr, value, expected_version=expected)
    except FactConflictError:
        return
    # What the validation node's cross-check does with a contradicting claim: the dispute
    # it opens is the door the attack tries to walk through.
    if change.claim.status == "quarantined":
        mem.facts.dispute(change.claim.id, by=VALIDATOR, reason="contradicts the verified value")


def _read_step(mem: SharedMemory, rng: random.Random, attr: str, reader: str) -> set[str]:
    facts = [
        mem.facts.get("app", "acct", attr),
        mem.agent(reader).facts.get("app", "acct", attr),
        *mem.facts.list("app"),
        *mem.agent(reader).facts.list("app"),
    ]
    return {
        f.value for f in facts if f is not None and f.status == "verified" and "evil" in f.value
    }

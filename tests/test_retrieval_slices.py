"""Conversation slices on the labelled set (issue 14), through a real `ConversationLog` on a
real SQLite file with the default offline WordLlama embedder.

The set (bench/data/slices_*.json) is written by bench/make_retrieval_sets.py; weights are
chosen on its tune half (bench/_slices.py), numbers asserted on the held half. What a user
relies on: the message a later turn needs is in the agent's slice while the slice stays
within its budget (never over it, whatever the transcript), the extractive digest keeps the
sentences naming what the recent turns name, nothing the viewer may not read gets in, and
the default weights are the ones the data picked.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from bench import _slices, make_retrieval_sets
from langgraph_sharedmem import ConversationLog, SharedMemory
from langgraph_sharedmem.conversation import _flows, _select

TUNE = _slices.load("tune")
HELD = _slices.load("held")
# Measured on the held half (docs/benchmarks.md, "Retrieval quality: conversation slices"):
# 21 of 22 since the word alignment and the hubness term (18 of 22 before; the goal is
# 0.90). Negation is no evidence and is not tuned: the other messages carry constraints too.
HELD_FLOOR = 0.95


@pytest.fixture(scope="module")
def held_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConversationLog]:
    path = tmp_path_factory.mktemp("slices") / "slices.db"
    with _slices.slices_log(path, HELD + TUNE) as log:
        yield log


def test_generator_writes_the_checked_in_sets(tmp_path: Path) -> None:
    make_retrieval_sets.write_slices(tmp_path)
    for name in ("slices_tune.json", "slices_held.json"):
        assert (tmp_path / name).read_bytes() == (_slices.DATA / name).read_bytes(), name
    assert len(TUNE) + len(HELD) >= 40
    # Split by scenario: no variant of a held-out scenario was seen while tuning.
    assert not {t["scenario"] for t in TUNE} & {t["scenario"] for t in HELD}
    for t in TUNE + HELD:
        assert 10 <= len(t["messages"]) <= 30
        assert t["agent"] in _slices.ROLES
        assert len({m["sender"] for m in t["messages"]}) >= 4  # a team, not a dialogue
        # The needed message is old (outside any recent window) and not the task restated.
        assert t["needed"] <= len(t["messages"]) - 6
        needed = _slices._words(t["messages"][t["needed"]]["text"])
        assert len(needed & _slices._words(t["task"])) <= 2, t["id"]


def test_the_needed_message_is_kept_within_twice_turn_one(held_log: ConversationLog) -> None:
    got = _slices.evaluate(held_log, HELD, _slices.default_slice)
    share = sum(got.hits) / len(HELD)
    assert share >= HELD_FLOOR, [t["id"] for t, h in zip(HELD, got.hits, strict=True) if not h]
    assert max(got.ratios) <= 2.0  # the slice at turn 10 within twice turn 1's
    # Entity and number cases are all kept (the instruction names them); the baselines keep
    # far fewer.
    assert all(h for h, t in zip(got.hits, HELD, strict=True) if t["kind"] != "semantic")
    cosine = _slices.evaluate(held_log, HELD, _slices.with_weights(_slices.PLAIN_COSINE))
    before = _slices.evaluate(held_log, HELD, _slices.previous_default)
    assert sum(cosine.hits) < len(HELD) // 4 and sum(before.hits) < len(HELD) // 4
    assert min(before.ratios) > 2.0  # the previous slice grew past twice turn 1's


def test_default_weights_are_what_tuning_picks(held_log: ConversationLog) -> None:
    cases = _slices.candidates(held_log, TUNE)
    weights, info = _slices.tune(cases)
    assert weights == _select.DEFAULT_WEIGHTS
    assert info["tune_share"] == 1.0
    # The tuning carries to scenarios it did not see: each tune scenario left out in turn.
    crossed = _slices.crossfit(cases, TUNE)
    assert crossed["share"] >= 0.95 and min(crossed["by_kind"].values()) >= 0.9


def test_vectorized_tuning_scores_as_choose_does(held_log: ConversationLog) -> None:
    cases = _slices.candidates(held_log, TUNE[:12])
    points = _slices._first_points()[::997] + [_select.DEFAULT_WEIGHTS]
    hits, _ = _slices.fits(cases, points)
    for j, weights in enumerate(points):
        for c, (found, left, at) in enumerate(cases):
            assert hits[j, c] == (at in found.choose(left, weights))


_WORDS = st.sampled_from(
    # fmt: off
    [
        "plan",
        "venue",
        "budget",
        "Okafor",
        "Lisbon",
        "1,200",
        "KX-2291",
        "draft",
        "review",
        "flights",
        "hotel",
        "May",
        "the",
        "a",
        "needs",
        "step-free",
        "cannot",
        "allergy",
        "17:40",
        "Marta",
        "risk",
    ]
    # fmt: on
)
_TEXT = st.lists(
    st.lists(_WORDS, min_size=1, max_size=14).map(lambda w: " ".join(w) + "."),
    min_size=1,
    max_size=4,
).map(" ".join)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    texts=st.lists(_TEXT, min_size=0, max_size=18),
    budget=st.integers(0, 400),
    last=st.none() | st.integers(0, 5),
    digest=st.booleans(),
    instruction=st.none() | _TEXT,
)
def test_the_budget_is_never_exceeded(
    tmp_path: Path,
    texts: list[str],
    budget: int,
    last: int | None,
    digest: bool,
    instruction: str | None,
) -> None:
    with SharedMemory.open(tmp_path / "budget.db", index=None) as mem:
        mem.register_agent("writer")  # idempotent: the file is shared by the examples
        log = mem.conversation
        run = f"r{next(_RUNS)}"
        texts = [f"{text} ({i})" for i, text in enumerate(texts)]  # told apart by order
        for i, text in enumerate(texts):
            sender = ("user", "planner", "writer")[i % 3]
            message = HumanMessage(text) if sender == "user" else AIMessage(text, name=sender)
            log.append(message, run=run, sender=sender)
        out = log.context(
            run,
            "writer",
            budget=budget,
            last=last,
            query="plan the Lisbon trip",
            instruction=instruction,
            summarize_older=digest,
        )
        assert sum(log.token_counter(m) for m in out) <= budget
        assert all(not isinstance(m, SystemMessage) for m in out[1:])  # a digest leads
        kept = [m.text for m in out if not isinstance(m, SystemMessage)]
        order = [t for t in texts if t in kept]
        assert order == [t for t in kept if t in texts]  # oldest first, as said


_RUNS = itertools.count()


def test_the_digest_keeps_sentences_naming_what_recent_turns_name(tmp_path: Path) -> None:
    with SharedMemory.open(tmp_path / "digest.db", index=None) as mem:
        for agent in ("planner", "researcher", "writer"):
            mem.register_agent(agent)
        log = mem.conversation
        filler = " ".join(
            f"The venue list item {w} looked fine overall." for w in "abcdefghijklmnopqrst"
        )
        said = [
            ("user", HumanMessage("Plan the client dinner in Milan for the fair.")),
            ("researcher", AIMessage(f"Dr. Okafor cannot eat shellfish. {filler}", name="r")),
            ("researcher", AIMessage(f"The carrier rejects batches over 1,200 rows. {filler}")),
            ("researcher", AIMessage(f"Tanaka prefers trains. {filler}", name="r")),
            ("planner", AIMessage("Status: research done, drafting now.", name="planner")),
            (
                "planner",
                AIMessage(
                    "Writer: write the menu card for Dr. Okafor's table and "
                    "split the export into 1200-row calls.",
                    name="planner",
                ),
            ),
        ]
        for sender, message in said:
            log.append(message, run="r", sender=sender)
        out = log.context(
            "r", "writer", budget=160, query="Plan the client dinner", summarize_older=True
        )
        assert sum(log.token_counter(m) for m in out) <= 160
        assert isinstance(out[0], SystemMessage)
        digest = out[0].text
        assert digest.startswith(_flows.DIGEST_PREFIX)
        assert "Dr. Okafor cannot eat shellfish." in digest
        assert "The carrier rejects batches over 1,200 rows." in digest
        assert "Tanaka" not in digest and "venue list" not in digest
        assert out[-1].text.startswith("Writer: write the menu card")
        # A summarizer set: its summary instead, never a digest.
        with_model = log.context(
            "r",
            "writer",
            budget=160,
            query="Plan the client dinner",
            summarize_older=True,
            summarizer=lambda messages, previous: "short summary",
        )
        assert with_model[0].text == _flows.SUMMARY_PREFIX + "short summary"


def test_the_extract_function_keeps_entity_and_number_sentences() -> None:
    texts = [
        "We met at noon. Marta uses a wheelchair. It rained.",
        "Quote KX-2291 covers tiling. Nothing else here.",
        "The cap is 1,500 words.",
    ]
    recent = _select.entities(["Send Marta the quote KX-2291 and keep it to 1500 words."])
    assert _select.extract(texts, recent, 10_000) == [
        "Marta uses a wheelchair.",
        "Quote KX-2291 covers tiling.",
        "The cap is 1,500 words.",
    ]
    assert _select.extract(texts, recent, 30) == ["Marta uses a wheelchair."]
    assert _select.extract(texts, set(), 10_000) == []


def test_a_budgeted_slice_holds_nothing_the_viewer_may_not_read(tmp_path: Path) -> None:
    with SharedMemory.open(tmp_path / "acl.db", index=None) as mem:
        for agent in ("planner", "writer", "billing"):
            mem.register_agent(agent)
        log = mem.conversation
        log.append(HumanMessage("Plan the dinner in Milan."), run="r", sender="user")
        log.append(
            AIMessage("Okafor's card 4111 is on file.", name="billing"),
            run="r",
            sender="billing",
            visibility="private",
        )
        log.append(
            AIMessage("Okafor cannot eat shellfish.", name="planner"), run="r", sender="planner"
        )
        for i in range(4):
            log.append(
                AIMessage(f"Status {i}: drafting.", name="planner"), run="r", sender="planner"
            )
        log.append(
            AIMessage("Writer: the menu for Okafor.", name="planner"), run="r", sender="planner"
        )
        for budget in (40, 80, 400):
            out = log.context("r", "writer", budget=budget, summarize_older=True)
            assert not any("4111" in m.text for m in out)
        assert any("4111" in m.text for m in log.context("r", "billing", budget=400))


def test_a_budgeted_slice_follows_scope_grants_and_their_revocation(tmp_path: Path) -> None:
    with SharedMemory.open(tmp_path / "scopes.db", index=None) as mem:
        for agent in ("planner", "billing"):
            mem.register_agent(agent)
        mem.register_user("u1")
        mem.access.grant_user("u1", "billing", read=True)
        log = mem.conversation
        log.append(HumanMessage("Sort out the refund."), run="r", sender="user")
        log.append(
            HumanMessage("Okafor's card ends 4242."), run="r", sender="user", scope=("user", "u1")
        )
        for i in range(5):
            log.append(AIMessage(f"Status {i}.", name="planner"), run="r", sender="planner")
        log.append(
            AIMessage("Billing: refund Okafor's card.", name="planner"), run="r", sender="planner"
        )
        options: dict[str, object] = {"user": "u1", "budget": 400, "summarize_older": True}
        assert any("4242" in m.text for m in log.context("r", "billing", **options))  # type: ignore[arg-type]
        mem.access.revoke_user("u1", "billing")
        time.sleep(0.06)  # another process's grant change reaches reads within 50 ms
        for budget in (30, 60, 400):
            options["budget"] = budget
            out = log.context("r", "billing", **options)  # type: ignore[arg-type]
            assert not any("4242" in m.text for m in out)


def test_named_evidence_counts_only_what_the_instruction_names() -> None:
    # Every message names someone in a real transcript: a name the recent turns mention in
    # passing is `entity` evidence, only the instruction's own names are `named`.
    found = [
        (1, 6, "Okafor cannot eat shellfish."),
        (2, 6, "Marta booked the 17:40 train."),
        (3, 6, "The menu is drafted."),
    ]
    candidates = _select.Candidates.build(
        found,
        np.zeros((3, 4)),
        {},
        ["Ask Marta about Monday."],
        "Writer: the menu for Dr. Okafor's table.",
        "Plan the client dinner.",
    )
    assert candidates.named is not None
    assert candidates.named[0] > 0 and candidates.named[1] == 0 == candidates.named[2]
    assert candidates.evidence[1] > 0
    assert int(np.argmax(candidates.score(_select.DEFAULT_WEIGHTS))) == 0

"""The offline demo (`make demo`): it runs as a user runs it, and what its story says is what
the database it leaves behind holds."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage

from langgraph_sharedmem import SharedMemory

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"
THREAD = {"configurable": {"thread_id": "ticket-1001"}}
USER = ("user", "cust-7")


def test_demo_story_matches_its_database(tmp_path: Path) -> None:
    out = tmp_path / "demo-output"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(DEMO), "--dir", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    story = done.stdout
    assert seconds < 60
    db = out / "demo.db"
    assert db.is_file()
    assert f"sharedmem facts {db}" in story

    with SharedMemory.open(db) as mem:
        # The disagreement: both claims, their fate and the policy, as the ledger has them.
        (dispute,) = mem.facts.disagreements(USER, "order:42", status=None)
        assert {c.status for c in dispute.claims} == {"verified", "rejected"}
        for claim in dispute.claims:
            line = (
                f"order:42.status = {claim.value!r} by {', '.join(claim.authors)}: {claim.status}"
            )
            assert line in story
        assert f"decided by {dispute.decided_by}" in story
        settled = mem.facts.get(USER, "order:42", "status")
        assert f"every reader gets: {settled.value!r}" in story

        # The stopped fact: rejected in the ledger, with the validator's reason, unreadable.
        (refund,) = mem.facts.claims(USER, "order:42", "refund_eta")
        assert refund.status == "rejected"
        assert f"refund_eta = {refund.value!r} by billing: rejected" in story
        rejections = [
            e for e in mem.facts.validation_log(run="ticket-1001") if e.outcome == "reject"
        ]
        assert (
            rejections and f"rejected by {rejections[0].validator}: {rejections[0].reason}" in story
        )
        assert mem.facts.get(USER, "order:42", "refund_eta") is None
        assert "what agents read: None" in story
        # ... and the refused value is nowhere in the conversation history agents get slices of.
        said = " ".join(
            str(m.message.content) for m in mem.conversation.iter_messages("ticket-1001")
        )
        assert refund.value not in said and "processing" in said

        # The avoided duplicate calls: the numbers are the cache table's.
        stats = mem.tool_cache.shared_stats("lookup_order")
        found = re.search(r"asked (\d+) times .* run (\d+) time\(s\) .*, (\d+) answered", story)
        assert found is not None
        assert tuple(map(int, found.groups())) == (
            stats.runs + stats.calls_saved,
            stats.runs,
            stats.calls_saved,
        )
        assert stats.runs == 1 and stats.calls_saved == 2
        # ... kept to the customer's ticket, as the story says (the cache's default scope).
        with mem.tool_cache.db.read() as conn:
            scopes = [json.loads(r[0]) for r in conn.execute("SELECT scope FROM tool_calls")]
        assert scopes == [{"run": "ticket-1001", "scope": "run", "user": "cust-7"}]
        assert "shared within cust-7's ticket ticket-1001 only (scope='run'" in story

        # The context saved: the totals are the checkpointed per-turn rows.
        values = mem.checkpointer.get_tuple(THREAD).checkpoint["channel_values"]
        rows = values["context"]
        sent = sum(r["sent_tokens"] for r in rows)
        whole = sum(r["transcript_tokens"] for r in rows)
        assert f"in all {sent} tokens instead of {whole}" in story
        assert sent < whole

        # The answers are the graph's, read back from the checkpoints.
        messages = values["messages"]
        humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
        assert len(humans) == 2
        first = [
            m for m in messages[: humans[1]] if isinstance(m, AIMessage) and m.name == "triage"
        ]
        assert f"Answer 1: {first[-1].content}" in story
        assert f"Answer 2: {values['final']}" in story
        assert "processing" in first[-1].content and "2 business days" not in first[-1].content

        # Who wrote and read what: the user memory support wrote, account read.
        audit = mem.audit(user="cust-7")
        assert any(
            e.agent == "support" and e.action == "remember" and e.subject == "contact"
            for e in audit
        )
        assert any(
            e.agent == "account" and e.action == "recall" and e.subject == "contact" for e in audit
        )
        assert "memory contact (user:cust-7, written by support)" in story
        assert "memory case-42 (agent:billing, private)" in story

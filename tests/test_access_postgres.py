"""The access rules on their own, on both backends: grants with windows, revocation seen by
another process's cache, the audit log, and the change feed filtered by an agent's rights."""

from __future__ import annotations

import time

import pytest

from langgraph_sharedmem import AccessControl, ChangeFeed, Scope
from langgraph_sharedmem.core.backend import open_database
from langgraph_sharedmem.core.changelog import record


def test_grants_windows_revocation_and_audit(backend_url: str) -> None:
    with open_database(backend_url) as db:
        acl, other = AccessControl(db), AccessControl(open_database(backend_url))
        acl.register_agent("billing")
        acl.register_agent("support")
        acl.register_user("u1")
        u1 = Scope("user", "u1")
        assert not acl.permissions("billing", "u1", None).allows(u1, write=False)
        grant = acl.grant_user("u1", "billing", read=True, write=True, granted_by="u1")
        assert grant.live() and grant.edge == "user"
        assert other.permissions("billing", "u1", None).allows(u1, write=True)
        soon = acl.grant_scope(
            "support", ("agent", "billing"), read=True, valid_until=time.time() + 0.3
        )
        assert acl.permissions("support", None, None).allows(Scope("agent", "billing"), write=False)
        time.sleep(0.35)  # the window closes: the cached answer knows it expires
        assert not acl.permissions("support", None, None).allows(
            Scope("agent", "billing"), write=False
        )
        assert not soon.live()
        assert acl.revoke_user("u1", "billing", by="u1") == 1
        time.sleep(other.recheck_seconds * 2)  # another process's cache sees it within this
        assert not other.permissions("billing", "u1", None).allows(u1, write=False)
        assert [g.edge for g in acl.grants(agent="billing")] == ["user"]  # history kept
        actions = [e.action for e in acl.audit(agent="billing")]
        assert actions == ["register_agent", "grant_user", "revoke_user"]
        other.db.close()


def test_the_feed_shows_an_agent_only_what_it_may_read(backend_url: str) -> None:
    with open_database(backend_url) as db:
        acl = AccessControl(db)
        feed = ChangeFeed(db, access=acl)
        for agent in ("billing", "support"):
            acl.register_agent(agent)
        acl.register_user("u1")
        feed.setup()
        start = feed.head()
        with db.write() as conn:
            record(conn, kind="item", op="put", key="u1/plan", scope=Scope("user", "u1").key)
            record(conn, kind="item", op="put", key="app/x", scope=Scope("app").key)
        seen = lambda: [c.key for c in feed.read(start, agent="billing", user_id="u1")]  # noqa: E731
        assert seen() == ["app/x"]  # not the user's memory without the user's grant
        acl.grant_user("u1", "billing", read=True)
        assert "u1/plan" in seen()
        acl.revoke_user("u1", "billing")
        assert "u1/plan" not in seen()  # revoked: older changes are hidden too
        with pytest.raises(Exception, match="unknown|not registered|retired|agent"):
            acl.grant_user("u1", "nobody")

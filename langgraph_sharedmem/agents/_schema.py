"""Access-control tables and the SQL that reads and writes them.

Two time-varying bipartite graphs (the Collaborative Memory model), each edge a row with a
validity window, never deleted:

* ``acl_user_grants``: user -> agent. The user lets the agent read and/or write the user's
  shared memory (the ``("user", id)`` scope) from ``valid_from`` until ``valid_until``.
* ``acl_scope_grants``: agent -> scope. Everything else an agent may reach beyond its defaults:
  writing app memory, another agent's private memory, another run. ``scope_id`` is an id or
  ``'*'`` (every id of that kind).

Revoking sets ``revoked_at`` (a grant in the future can be revoked too, so ``valid_until``
alone could not say it); the row and its history stay. A grant is live at ``t`` when
``valid_from <= t < valid_until`` and ``t < revoked_at`` (NULL: open-ended).

``acl_agents`` and ``acl_users`` register the ids (unknown ones are an error, not an empty
grant). Triggers bump ``acl_meta.grants_version`` on every change to the four tables, so a
view's cached permissions are checked against one integer per read, in every process.

``acl_audit``: who did what, when, and whether it was allowed.
"""

from __future__ import annotations

from sqlite_utils import Database as _SUDatabase
from sqlite_utils.migrations import Migrations

from langgraph_sharedmem.core.transfer import CopyTable

MIGRATIONS = Migrations("langgraph_sharedmem.agents")

_WINDOW = """
    valid_from REAL NOT NULL,
    valid_until REAL,
    revoked_at REAL,
    granted_by TEXT,
    created_at REAL NOT NULL,
    CHECK (can_read IN (0, 1) AND can_write IN (0, 1) AND (can_read OR can_write)),
    CHECK (valid_until IS NULL OR valid_until > valid_from)
"""


@MIGRATIONS(name="0001_access_tables")
def _m0001(db: _SUDatabase) -> None:
    bump = "UPDATE acl_meta SET value = value + 1 WHERE name = 'grants_version';"
    triggers = "\n".join(
        f"CREATE TRIGGER {table}_{event.lower()}_bump AFTER {event} ON {table} BEGIN {bump} END;"
        for table in ("acl_agents", "acl_users", "acl_user_grants", "acl_scope_grants")
        for event in ("INSERT", "UPDATE", "DELETE")
    )
    db.executescript(
        f"""
        CREATE TABLE acl_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO acl_meta VALUES ('grants_version', 1);
        CREATE TABLE acl_agents (
            id TEXT PRIMARY KEY,
            description TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            retired_at REAL
        ) WITHOUT ROWID;
        CREATE TABLE acl_users (
            id TEXT PRIMARY KEY,
            created_at REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE acl_user_grants (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES acl_users (id),
            agent_id TEXT NOT NULL REFERENCES acl_agents (id),
            can_read INTEGER NOT NULL,
            can_write INTEGER NOT NULL,
            {_WINDOW}
        );
        CREATE INDEX acl_user_grants_agent ON acl_user_grants (agent_id, user_id);
        CREATE TABLE acl_scope_grants (
            id INTEGER PRIMARY KEY,
            agent_id TEXT NOT NULL REFERENCES acl_agents (id),
            scope_kind TEXT NOT NULL CHECK (scope_kind IN ('app', 'agent', 'run')),
            scope_id TEXT NOT NULL,
            can_read INTEGER NOT NULL,
            can_write INTEGER NOT NULL,
            {_WINDOW}
        );
        CREATE INDEX acl_scope_grants_agent ON acl_scope_grants (agent_id, scope_kind);
        CREATE TABLE acl_audit (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            agent_id TEXT,
            user_id TEXT,
            run_id TEXT,
            action TEXT NOT NULL,
            scope TEXT,
            subject TEXT,
            outcome TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied')),
            detail TEXT
        );
        CREATE INDEX acl_audit_agent ON acl_audit (agent_id, at);
        {triggers}
        """
    )


@MIGRATIONS(name="0002_run_members")
def _m0002(db: _SUDatabase) -> None:
    # Run membership: a run listed in acl_runs is closed, and only the agents listed in
    # acl_run_members (removed_at NULL) get the default rights on it. Changes bump the grants
    # version like grants do, so cached permissions see them.
    bump = "UPDATE acl_meta SET value = value + 1 WHERE name = 'grants_version';"
    triggers = "\n".join(
        f"CREATE TRIGGER {table}_{event.lower()}_bump AFTER {event} ON {table} BEGIN {bump} END;"
        for table in ("acl_runs", "acl_run_members")
        for event in ("INSERT", "UPDATE", "DELETE")
    )
    db.executescript(
        f"""
        CREATE TABLE acl_runs (
            id TEXT PRIMARY KEY,
            closed_by TEXT,
            created_at REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE acl_run_members (
            run_id TEXT NOT NULL REFERENCES acl_runs (id),
            agent_id TEXT NOT NULL REFERENCES acl_agents (id),
            added_by TEXT,
            added_at REAL NOT NULL,
            removed_at REAL,
            PRIMARY KEY (run_id, agent_id)
        ) WITHOUT ROWID;
        {triggers}
        """
    )


GRANTS_VERSION = "SELECT value FROM acl_meta WHERE name = 'grants_version'"

# The effective permissions of one agent acting for one user in one run, at time :t, in ONE
# query: the default policy (own private scope and current run read/write, app read) as
# constant rows, plus every grant row of the agent, folded per scope. The current run's
# default holds only while the run is open (not in acl_runs) or the agent is a member. A
# grant that is not live at :t contributes nothing but its next boundary (start, end or
# revocation after :t), whose minimum says until when the answer holds. Nothing at all for
# an unknown or retired agent.
EFFECTIVE = """
WITH rules (kind, id, can_read, can_write, valid_from, valid_until, revoked_at) AS (
    SELECT 'agent', :agent, 1, 1, NULL, NULL, NULL
    UNION ALL SELECT 'run', :run, 1, 1, NULL, NULL, NULL WHERE :run IS NOT NULL AND (
        NOT EXISTS (SELECT 1 FROM acl_runs WHERE id = :run)
        OR EXISTS (SELECT 1 FROM acl_run_members
                   WHERE run_id = :run AND agent_id = :agent AND removed_at IS NULL))
    UNION ALL SELECT 'app', 'default', 1, 0, NULL, NULL, NULL
    UNION ALL
    SELECT 'user', user_id, can_read, can_write, valid_from, valid_until, revoked_at
      FROM acl_user_grants WHERE agent_id = :agent AND user_id = :user
    UNION ALL
    SELECT scope_kind, scope_id, can_read, can_write, valid_from, valid_until, revoked_at
      FROM acl_scope_grants WHERE agent_id = :agent
), judged AS (
    SELECT kind, id, can_read, can_write,
           (valid_from IS NULL OR valid_from <= :t)
           AND (valid_until IS NULL OR valid_until > :t)
           AND (revoked_at IS NULL OR revoked_at > :t) AS live,
           min(coalesce(CASE WHEN valid_from > :t THEN valid_from END, 1e300),
               coalesce(CASE WHEN valid_until > :t THEN valid_until END, 1e300),
               coalesce(CASE WHEN revoked_at > :t THEN revoked_at END, 1e300)) AS boundary
      FROM rules
)
SELECT kind, id,
       max(CASE WHEN live THEN can_read ELSE 0 END),
       max(CASE WHEN live THEN can_write ELSE 0 END),
       min(boundary)
  FROM judged
 WHERE EXISTS (SELECT 1 FROM acl_agents WHERE id = :agent AND retired_at IS NULL)
 GROUP BY kind, id
"""

AGENT_STATE = "SELECT retired_at FROM acl_agents WHERE id = ?"
AGENT_RETIRED_AND_DESCRIPTION = "SELECT retired_at, description FROM acl_agents WHERE id = ?"
# The registered agents as a relation ``(id, retired_at)`` other parts join in their own
# queries (the registry: an agent retired here is retired there) without naming this table;
# SQLite flattens the subquery, so the join costs what a join on the table does.
AGENT_ROWS = "SELECT id, retired_at FROM acl_agents"
USER_EXISTS = "SELECT 1 FROM acl_users WHERE id = ?"
UPSERT_AGENT = """
INSERT INTO acl_agents (id, description, created_at) VALUES (?, ?, ?)
ON CONFLICT (id) DO UPDATE SET description = excluded.description, retired_at = NULL
"""
INSERT_USER = "INSERT INTO acl_users (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING"
RETIRE_AGENT = "UPDATE acl_agents SET retired_at = ? WHERE id = ? AND retired_at IS NULL"
CLOSE_RUN = """
INSERT INTO acl_runs (id, closed_by, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING
"""
ADD_RUN_MEMBER = """
INSERT INTO acl_run_members (run_id, agent_id, added_by, added_at) VALUES (?, ?, ?, ?)
ON CONFLICT (run_id, agent_id) DO UPDATE SET removed_at = NULL, added_by = excluded.added_by,
    added_at = excluded.added_at WHERE acl_run_members.removed_at IS NOT NULL
"""
REMOVE_RUN_MEMBER = """
UPDATE acl_run_members SET removed_at = ? WHERE run_id = ? AND agent_id = ? AND removed_at IS NULL
"""
RUN_MEMBERS = """
SELECT agent_id FROM acl_run_members WHERE run_id = ? AND removed_at IS NULL ORDER BY agent_id
"""
RUN_CLOSED = "SELECT 1 FROM acl_runs WHERE id = ?"

INSERT_USER_GRANT = """
INSERT INTO acl_user_grants
    (user_id, agent_id, can_read, can_write, valid_from, valid_until, granted_by, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
INSERT_SCOPE_GRANT = """
INSERT INTO acl_scope_grants
    (agent_id, scope_kind, scope_id, can_read, can_write, valid_from, valid_until, granted_by,
     created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# Ends every grant of the edge that has not ended yet (live or in the future).
_NOT_ENDED = "revoked_at IS NULL AND (valid_until IS NULL OR valid_until > :t)"
REVOKE_USER_GRANTS = f"""
UPDATE acl_user_grants SET revoked_at = :t
 WHERE user_id = :user AND agent_id = :agent AND {_NOT_ENDED}
"""
REVOKE_SCOPE_GRANTS = f"""
UPDATE acl_scope_grants SET revoked_at = :t
 WHERE agent_id = :agent AND scope_kind = :kind AND scope_id = :id AND {_NOT_ENDED}
"""
SELECT_GRANTS = """
SELECT 'user' AS edge, id, agent_id, 'user' AS kind, user_id AS scope_id, can_read, can_write,
       valid_from, valid_until, revoked_at, granted_by, created_at FROM acl_user_grants
UNION ALL
SELECT 'scope', id, agent_id, scope_kind, scope_id, can_read, can_write,
       valid_from, valid_until, revoked_at, granted_by, created_at FROM acl_scope_grants
"""
INSERT_AUDIT = """
INSERT INTO acl_audit (at, agent_id, user_id, run_id, action, scope, subject, outcome, detail)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# One row per audited event: plain rows as they are, 'reads' rows (a JSON array of
# [at, action, scope, subject, detail] entries, see _audit) expanded into one row per read.
SELECT_AUDIT = """
SELECT id, 0 AS seq, at, agent_id, user_id, run_id, action, scope, subject, outcome, detail
  FROM acl_audit WHERE action != 'reads'
UNION ALL
SELECT a.id, e.key, e.value ->> 0, a.agent_id, a.user_id, a.run_id, e.value ->> 1,
       e.value ->> 2, e.value ->> 3, a.outcome, e.value ->> 4
  FROM acl_audit AS a, json_each(a.detail) AS e WHERE a.action = 'reads'
"""


# How `sharedmem copy` moves access rules and audit (see `core.transfer`). ``acl_meta`` (the
# grants version, seeded by the migration) comes last: the copy's own inserts bump it.
COPY_TABLES = (
    CopyTable(
        "acl_agents",
        (
            ("id", "text"),
            ("description", "text"),
            ("created_at", "real"),
            ("retired_at", "real"),
        ),
        key=("id",),
    ),
    CopyTable(
        "acl_users",
        (
            ("id", "text"),
            ("created_at", "real"),
        ),
        key=("id",),
    ),
    CopyTable(
        "acl_user_grants",
        (
            ("id", "integer"),
            ("user_id", "text"),
            ("agent_id", "text"),
            ("can_read", "integer"),
            ("can_write", "integer"),
            ("valid_from", "real"),
            ("valid_until", "real"),
            ("revoked_at", "real"),
            ("granted_by", "text"),
            ("created_at", "real"),
        ),
        key=("id",),
        counter="id",
    ),
    CopyTable(
        "acl_scope_grants",
        (
            ("id", "integer"),
            ("agent_id", "text"),
            ("scope_kind", "text"),
            ("scope_id", "text"),
            ("can_read", "integer"),
            ("can_write", "integer"),
            ("valid_from", "real"),
            ("valid_until", "real"),
            ("revoked_at", "real"),
            ("granted_by", "text"),
            ("created_at", "real"),
        ),
        key=("id",),
        counter="id",
    ),
    CopyTable(
        "acl_audit",
        (
            ("id", "integer"),
            ("at", "real"),
            ("agent_id", "text"),
            ("user_id", "text"),
            ("run_id", "text"),
            ("action", "text"),
            ("scope", "text"),
            ("subject", "text"),
            ("outcome", "text"),
            ("detail", "text"),
        ),
        key=("id",),
        counter="id",
    ),
    CopyTable(
        "acl_runs",
        (
            ("id", "text"),
            ("closed_by", "text"),
            ("created_at", "real"),
        ),
        key=("id",),
    ),
    CopyTable(
        "acl_run_members",
        (
            ("run_id", "text"),
            ("agent_id", "text"),
            ("added_by", "text"),
            ("added_at", "real"),
            ("removed_at", "real"),
        ),
        key=(
            "run_id",
            "agent_id",
        ),
    ),
    CopyTable(
        "acl_meta",
        (
            ("name", "text"),
            ("value", "integer"),
        ),
        key=("name",),
        seeded=True,
    ),
)

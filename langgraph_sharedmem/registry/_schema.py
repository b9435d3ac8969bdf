"""Registry tables and the SQL that reads and writes them.

* ``registry_agents``: one row per agent name (the primary key is what makes registering
  twice an update, in every process). List-valued fields are JSON arrays; ``text`` is the
  descriptive text also put in the store (namespace `NAMESPACE`) in the same transaction, kept
  here so keyword matching works with the store's index off. Times are Unix seconds
  (``time.time()``): heartbeats are compared across processes.
* ``registry_capabilities``: (capability, name) pairs, lower-cased, for exact lookup by an
  index instead of a scan of JSON arrays.
* ``registry_outcomes``: tasks agents handled and whether it went well
  (`Registry.record_outcome`), with the task's unit vector (float32 bytes and their
  ``dims``; NULL when recorded with the index off): routing's nearest-past-task evidence.
  ``id`` only grows (AUTOINCREMENT), so a reader catches up with ``id > last seen``.

An agent is *stale* when it is not retired and its last heartbeat is older than its own
``heartbeat_timeout`` or, when that is NULL, the registry's ``stale_after`` (NULL: never).
The AccessControl row of the same id is joined in (`AccessControl.AGENT_ROWS`): an agent
retired there is retired here. Facts are read through `facts.queries` (who knows what).

Migrations are an append-only list applied by sqlite-utils and recorded in the database; a
step is never edited once released (a dead one becomes a no-op with a comment).
"""

from __future__ import annotations

from typing import Final

from sqlite_utils import Database as _SUDatabase
from sqlite_utils.migrations import Migrations

from langgraph_sharedmem.agents import AccessControl
from langgraph_sharedmem.core.transfer import CopyTable

MIGRATIONS = Migrations("langgraph_sharedmem.registry")

# The store namespace holding one item per agent: {"text": ..., "name": ..., ...}.
NAMESPACE: Final = ("sharedmem_registry", "agents")


@MIGRATIONS(name="0001_registry_tables")
def _m0001(db: _SUDatabase) -> None:
    db.executescript(
        """
        CREATE TABLE registry_agents (
            name TEXT PRIMARY KEY,
            description TEXT NOT NULL,
            capabilities TEXT NOT NULL,
            tools TEXT NOT NULL,
            endpoint TEXT,
            graph_id TEXT,
            owner TEXT,
            allowed_scopes TEXT NOT NULL,
            trust REAL NOT NULL CHECK (trust >= 0 AND trust <= 1),
            version TEXT NOT NULL,
            metadata TEXT NOT NULL,
            heartbeat_timeout REAL CHECK (heartbeat_timeout IS NULL OR heartbeat_timeout > 0),
            text TEXT NOT NULL,
            registered_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            last_seen REAL NOT NULL,
            retired_at REAL
        ) WITHOUT ROWID;
        CREATE TABLE registry_capabilities (
            capability TEXT NOT NULL,
            name TEXT NOT NULL REFERENCES registry_agents (name),
            PRIMARY KEY (capability, name)
        ) WITHOUT ROWID;
        """
    )


@MIGRATIONS(name="0002_registry_outcomes")
def _m0002(db: _SUDatabase) -> None:
    db.executescript(
        """
        CREATE TABLE registry_outcomes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            task TEXT NOT NULL,
            ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
            vector BLOB,
            dims INTEGER CHECK (dims IS NULL OR dims > 0),
            at REAL NOT NULL
        );
        CREATE INDEX registry_outcomes_name ON registry_outcomes (name);
        """
    )


PROFILE_FIELDS: Final = (
    "name",
    "description",
    "capabilities",
    "tools",
    "endpoint",
    "graph_id",
    "owner",
    "allowed_scopes",
    "trust",
    "version",
    "metadata",
    "heartbeat_timeout",
)

# Columns of `SELECT_AGENTS`, in `_model.profile_from_row` order.
_STALE = (
    "coalesce(r.retired_at IS NULL AND a.retired_at IS NULL AND "
    "r.last_seen < :now - coalesce(r.heartbeat_timeout, :stale_after), 0)"
)
SELECT_AGENTS = f"""
SELECT r.name, r.description, r.capabilities, r.tools, r.endpoint, r.graph_id, r.owner,
    r.allowed_scopes, r.trust, r.version, r.metadata, r.heartbeat_timeout, r.text,
    r.registered_at, r.updated_at, r.last_seen, coalesce(r.retired_at, a.retired_at),
    {_STALE} AS stale
FROM registry_agents AS r LEFT JOIN ({AccessControl.AGENT_ROWS}) AS a ON a.id = r.name
"""
# Filters appended to SELECT_AGENTS (all take the :now and :stale_after parameters).
WHERE_NAME = "WHERE r.name = :name"
WHERE_LIVE = "WHERE r.retired_at IS NULL AND a.retired_at IS NULL"
WHERE_CAPABILITY = (
    "WHERE r.name IN (SELECT name FROM registry_capabilities WHERE capability = :capability)"
)
WHERE_NAMES = "WHERE r.name IN (SELECT value FROM json_each(:names))"
ORDER = " ORDER BY r.name"
# Every agent with an item in the store (not retired here): retired in AccessControl? stale?
CANDIDATES = f"""
SELECT r.name, r.updated_at, r.capabilities, r.trust, r.text, r.description,
    a.retired_at IS NOT NULL,
    {_STALE}
FROM registry_agents AS r LEFT JOIN ({AccessControl.AGENT_ROWS}) AS a ON a.id = r.name
WHERE r.retired_at IS NULL
"""

SELECT_ROW = "SELECT * FROM registry_agents WHERE name = ?"
INSERT_AGENT = """
INSERT INTO registry_agents (name, description, capabilities, tools, endpoint, graph_id, owner,
    allowed_scopes, trust, version, metadata, heartbeat_timeout, text, registered_at,
    updated_at, last_seen)
VALUES (:name, :description, :capabilities, :tools, :endpoint, :graph_id, :owner,
    :allowed_scopes, :trust, :version, :metadata, :heartbeat_timeout, :text, :now, :now, :now)
"""
UPDATE_AGENT = """
UPDATE registry_agents SET description = :description, capabilities = :capabilities,
    tools = :tools, endpoint = :endpoint, graph_id = :graph_id, owner = :owner,
    allowed_scopes = :allowed_scopes, trust = :trust, version = :version,
    metadata = :metadata, heartbeat_timeout = :heartbeat_timeout, text = :text,
    updated_at = :now, last_seen = :now, retired_at = NULL
WHERE name = :name
"""
DELETE_CAPABILITIES = "DELETE FROM registry_capabilities WHERE name = ?"
INSERT_CAPABILITY = "INSERT INTO registry_capabilities (capability, name) VALUES (?, ?)"
TOUCH = "UPDATE registry_agents SET last_seen = ? WHERE name = ?"
RETIRE = "UPDATE registry_agents SET retired_at = ?, updated_at = ? WHERE name = ?"
INSERT_OUTCOME = """
INSERT INTO registry_outcomes (name, task, ok, vector, dims, at) VALUES (?, ?, ?, ?, ?, ?)
"""
OUTCOMES_AFTER = """
SELECT id, name, task, ok, vector, dims FROM registry_outcomes WHERE id > ? ORDER BY id
"""


# How `sharedmem copy` moves the registry (see `core.transfer`).
COPY_TABLES = (
    CopyTable(
        "registry_agents",
        (
            ("name", "text"),
            ("description", "text"),
            ("capabilities", "json_text"),
            ("tools", "json_text"),
            ("endpoint", "text"),
            ("graph_id", "text"),
            ("owner", "text"),
            ("allowed_scopes", "json_text"),
            ("trust", "real"),
            ("version", "text"),
            ("metadata", "json_text"),
            ("heartbeat_timeout", "real"),
            ("text", "text"),
            ("registered_at", "real"),
            ("updated_at", "real"),
            ("last_seen", "real"),
            ("retired_at", "real"),
        ),
        key=("name",),
    ),
    CopyTable(
        "registry_capabilities",
        (
            ("capability", "text"),
            ("name", "text"),
        ),
        key=(
            "capability",
            "name",
        ),
    ),
    CopyTable(
        "registry_outcomes",
        (
            ("id", "integer"),
            ("name", "text"),
            ("task", "text"),
            ("ok", "integer"),
            ("vector", "bytes"),
            ("dims", "integer"),
            ("at", "real"),
        ),
        key=("id",),
        counter="id",
    ),
)

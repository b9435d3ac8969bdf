"""Fact ledger tables and the SQL that reads and writes them.

Layout:

* ``facts``: one row per (scope, subject, attribute). ``version`` counts the changes (it is
  the compare-and-set token and the number of `fact_history` rows); ``verified_claim`` is what
  readers see, ``head_claim`` the newest claim whatever its status, ``open_disagreement`` the
  disagreement holding the fact in quarantine, if any.
* ``fact_claims``: one row per distinct value of a fact (``UNIQUE (fact_id, value_hash)`` over
  canonical JSON): asserting a value again adds a source to its claim, never a second claim.
  ``first_seq``/``last_seq`` are ids of its first and latest source, the assertion order that
  latest-wins and first-wins compare (a counter, not a clock: clocks of processes disagree).
* ``fact_sources``: every assertion: who, from where (JSON), with what confidence, when, and
  (``held``, migration 0003) whether it arrived quarantined. A held source counts for no
  policy: only a validation decision on its claim clears it (docs/validation.md, I2).
* ``fact_history``: one row per version, never updated: who changed what, when and why.
* ``fact_disagreements`` and ``fact_disagreement_claims``: two authors' different values for one
  fact, the claims involved, and how it was settled (by a policy or by hand).

Migrations are an append-only list applied by sqlite-utils and recorded in the database; a
step is never edited once released (a dead one becomes a no-op with a comment).
"""

from __future__ import annotations

from sqlite_utils import Database as _SUDatabase
from sqlite_utils.migrations import Migrations

from langgraph_sharedmem.core.transfer import CopyTable

MIGRATIONS = Migrations("langgraph_sharedmem.facts")

_STATUS_CHECK = "CHECK (status IN ('quarantined', 'verified', 'rejected', 'superseded'))"


@MIGRATIONS(name="0001_fact_tables")
def _m0001(db: _SUDatabase) -> None:
    db.executescript(
        f"""
        CREATE TABLE facts (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL,
            subject TEXT NOT NULL,
            attribute TEXT NOT NULL,
            version INTEGER NOT NULL,
            verified_claim INTEGER,
            head_claim INTEGER,
            open_disagreement INTEGER,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (scope, subject, attribute)
        );
        CREATE TABLE fact_claims (
            id INTEGER PRIMARY KEY,
            fact_id INTEGER NOT NULL REFERENCES facts (id),
            value TEXT NOT NULL,
            value_hash TEXT NOT NULL,
            status TEXT NOT NULL {_STATUS_CHECK},
            author TEXT NOT NULL,
            confidence REAL NOT NULL,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (fact_id, value_hash)
        );
        CREATE TABLE fact_sources (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            claim_id INTEGER NOT NULL REFERENCES fact_claims (id),
            author TEXT NOT NULL,
            source TEXT NOT NULL,
            confidence REAL NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX fact_sources_claim ON fact_sources (claim_id);
        CREATE TABLE fact_history (
            fact_id INTEGER NOT NULL REFERENCES facts (id),
            version INTEGER NOT NULL,
            event TEXT NOT NULL,
            by TEXT NOT NULL,
            claim_id INTEGER REFERENCES fact_claims (id),
            status TEXT NOT NULL {_STATUS_CHECK},
            source_id INTEGER REFERENCES fact_sources (id),
            verified_claim INTEGER,
            disagreement_id INTEGER,
            reason TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (fact_id, version)
        );
        CREATE TABLE fact_disagreements (
            id INTEGER PRIMARY KEY,
            fact_id INTEGER NOT NULL REFERENCES facts (id),
            status TEXT NOT NULL CHECK (status IN ('open', 'settled', 'resolved')),
            policy TEXT NOT NULL,
            winner_claim INTEGER REFERENCES fact_claims (id),
            decided_by TEXT,
            reason TEXT,
            created_at TEXT NOT NULL,
            decided_at TEXT
        );
        CREATE INDEX fact_disagreements_fact ON fact_disagreements (fact_id, status);
        CREATE INDEX fact_disagreements_open ON fact_disagreements (status)
            WHERE status = 'open';
        CREATE TABLE fact_disagreement_claims (
            disagreement_id INTEGER NOT NULL REFERENCES fact_disagreements (id),
            claim_id INTEGER NOT NULL REFERENCES fact_claims (id),
            PRIMARY KEY (disagreement_id, claim_id)
        );
        """
    )


FACT_COLUMNS = (
    "f.id, f.scope, f.subject, f.attribute, f.version, f.verified_claim, f.head_claim, "
    "f.open_disagreement, f.created_at, f.updated_at"
)
CLAIM_COLUMNS = (
    "c.id, c.fact_id, c.value, c.status, c.author, c.confidence, c.first_seq, c.last_seq, "
    "c.created_at, c.updated_at"
)

SELECT_FACT = f"""
SELECT {FACT_COLUMNS} FROM facts AS f WHERE f.scope = ? AND f.subject = ? AND f.attribute = ?
"""
SELECT_FACT_BY_ID = f"SELECT {FACT_COLUMNS} FROM facts AS f WHERE f.id = ?"
INSERT_FACT = """
INSERT INTO facts (scope, subject, attribute, version, created_at, updated_at)
VALUES (?, ?, ?, 0, ?, ?)
"""
UPDATE_FACT = """
UPDATE facts SET version = :version, verified_claim = :verified_claim,
    head_claim = :head_claim, open_disagreement = :open_disagreement, updated_at = :now
WHERE id = :id
"""

SELECT_CLAIM = f"SELECT {CLAIM_COLUMNS} FROM fact_claims AS c WHERE c.id = ?"
SELECT_CLAIM_BY_HASH = (
    f"SELECT {CLAIM_COLUMNS} FROM fact_claims AS c WHERE c.fact_id = ? AND c.value_hash = ?"
)
SELECT_CLAIMS_OF_FACT = (
    f"SELECT {CLAIM_COLUMNS} FROM fact_claims AS c WHERE c.fact_id = ? ORDER BY c.first_seq"
)
INSERT_CLAIM = """
INSERT INTO fact_claims (fact_id, value, value_hash, status, author, confidence, first_seq,
    last_seq, created_at, updated_at)
VALUES (?, ?, ?, 'quarantined', ?, ?, 0, 0, ?, ?)
"""
SET_CLAIM_STATUS = "UPDATE fact_claims SET status = ?, updated_at = ? WHERE id = ?"
# A new source: the claim keeps its highest confidence and learns its assertion order.
TOUCH_CLAIM = """
UPDATE fact_claims SET confidence = max(confidence, :confidence),
    first_seq = CASE WHEN first_seq = 0 THEN :seq ELSE first_seq END,
    last_seq = :seq, updated_at = :now
WHERE id = :id
"""

INSERT_SOURCE = """
INSERT INTO fact_sources (claim_id, author, source, confidence, created_at, held)
VALUES (?, ?, ?, ?, ?, ?)
"""
SELECT_SOURCES = """
SELECT id, claim_id, author, source, confidence, created_at, held FROM fact_sources
WHERE claim_id IN (SELECT value FROM json_each(?)) ORDER BY id
"""
# A validation decision on a claim: it vouches for (0) or withdraws (1) every source so far.
HOLD_SOURCES = "UPDATE fact_sources SET held = ? WHERE claim_id = ?"
# Per claim, the order and confidence of its vouched sources alone: what policies weigh.
SELECT_VOUCHED_SEQS = """
SELECT claim_id, min(id), max(id), max(confidence) FROM fact_sources
WHERE held = 0 AND claim_id IN (SELECT value FROM json_each(?)) GROUP BY claim_id
"""

INSERT_HISTORY = """
INSERT INTO fact_history (fact_id, version, event, by, claim_id, status, source_id,
    verified_claim, disagreement_id, reason, created_at)
VALUES (:fact_id, :version, :event, :by, :claim_id, :status, :source_id, :verified_claim,
    :disagreement_id, :reason, :now)
"""
SELECT_HISTORY = """
SELECT h.version, h.event, h.by, h.claim_id, c.value, h.status, s.author, s.source,
    s.confidence, h.verified_claim, h.disagreement_id, h.reason, h.created_at
FROM fact_history AS h
LEFT JOIN fact_claims AS c ON c.id = h.claim_id
LEFT JOIN fact_sources AS s ON s.id = h.source_id
WHERE h.fact_id = ? ORDER BY h.version
"""

INSERT_DISAGREEMENT = """
INSERT INTO fact_disagreements (fact_id, status, policy, created_at) VALUES (?, 'open', ?, ?)
"""
ADD_DISAGREEMENT_CLAIM = """
INSERT OR IGNORE INTO fact_disagreement_claims (disagreement_id, claim_id) VALUES (?, ?)
"""
DECIDE_DISAGREEMENT = """
UPDATE fact_disagreements SET status = :status, policy = :policy, winner_claim = :winner,
    decided_by = :by, reason = :reason, decided_at = :now
WHERE id = :id
"""
DISAGREEMENT_COLUMNS = (
    "d.id, d.fact_id, d.status, d.policy, d.winner_claim, d.decided_by, d.reason, "
    "d.created_at, d.decided_at"
)
SELECT_DISAGREEMENT = f"SELECT {DISAGREEMENT_COLUMNS} FROM fact_disagreements AS d WHERE d.id = ?"
# A disagreement's claims (by id) and their sources (in order), read together.
SELECT_DISAGREEMENT_CLAIMS = f"""
SELECT {CLAIM_COLUMNS} FROM fact_disagreement_claims AS dc
JOIN fact_claims AS c ON c.id = dc.claim_id
WHERE dc.disagreement_id = ? ORDER BY c.id
"""
SELECT_DISAGREEMENT_SOURCES = """
SELECT s.id, s.claim_id, s.author, s.source, s.confidence, s.created_at, s.held
FROM fact_disagreement_claims AS dc JOIN fact_sources AS s ON s.claim_id = dc.claim_id
WHERE dc.disagreement_id = ? ORDER BY s.id
"""


@MIGRATIONS(name="0002_quarantine_lineage_validation")
def _m0002(db: _SUDatabase) -> None:
    """Validation checkpoints (docs/validation.md): which run a claim belongs to, what it was
    derived from, who may read quarantined claims, every validator's result and every
    decision (unique per claim and fact version, so a decision is never applied twice)."""
    db.executescript(
        """
        CREATE TABLE fact_claim_runs (
            claim_id INTEGER PRIMARY KEY REFERENCES fact_claims (id),
            run_id TEXT NOT NULL
        );
        CREATE INDEX fact_claim_runs_run ON fact_claim_runs (run_id);
        CREATE TABLE fact_lineage (
            claim_id INTEGER NOT NULL REFERENCES fact_claims (id),
            parent_claim INTEGER NOT NULL REFERENCES fact_claims (id),
            PRIMARY KEY (claim_id, parent_claim)
        );
        CREATE INDEX fact_lineage_parent ON fact_lineage (parent_claim);
        CREATE INDEX fact_claims_quarantined ON fact_claims (fact_id)
            WHERE status = 'quarantined';
        CREATE TABLE fact_validators (
            agent TEXT PRIMARY KEY,
            added_by TEXT,
            added_at TEXT NOT NULL
        );
        CREATE TABLE validation_log (
            id INTEGER PRIMARY KEY,
            run_id TEXT,
            thread_id TEXT,
            checkpoint_id TEXT,
            node TEXT NOT NULL,
            claim_id INTEGER NOT NULL REFERENCES fact_claims (id),
            fact_version INTEGER NOT NULL,
            validator TEXT NOT NULL,
            outcome TEXT NOT NULL
                CHECK (outcome IN ('approve', 'reject', 'abstain', 'review', 'error')),
            reason TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX validation_log_claim ON validation_log (claim_id, fact_version);
        CREATE INDEX validation_log_run ON validation_log (run_id);
        CREATE TABLE validation_decisions (
            decision_key TEXT PRIMARY KEY,
            claim_id INTEGER NOT NULL REFERENCES fact_claims (id),
            fact_version INTEGER NOT NULL,
            decision TEXT NOT NULL,
            reason TEXT NOT NULL,
            by TEXT NOT NULL,
            run_id TEXT,
            thread_id TEXT,
            checkpoint_id TEXT,
            node TEXT,
            version_after INTEGER,
            created_at TEXT NOT NULL
        );
        CREATE INDEX validation_decisions_claim ON validation_decisions (claim_id);
        CREATE INDEX validation_decisions_run ON validation_decisions (run_id, checkpoint_id);
        """
    )


@MIGRATIONS(name="0003_held_sources")
def _m0003(db: _SUDatabase) -> None:
    """Whether a source arrived quarantined (I2: such a claim is never eligible for a policy,
    only for a validation decision). Sources recorded before: those whose assertion was
    recorded as ``quarantined`` in the history are held; the rest cannot be told apart and
    stay as they counted before."""
    db.executescript(
        """
        ALTER TABLE fact_sources ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
        UPDATE fact_sources SET held = 1 WHERE id IN (
            SELECT source_id FROM fact_history
            WHERE event = 'quarantined' AND source_id IS NOT NULL);
        """
    )


# How `sharedmem copy` moves the ledger (see `core.transfer`), parents first; ids are kept
# (claims, sources and history refer to each other by id) and their counters restored.
# ``value`` and ``source`` stay exact text: claims are keyed by the value's hash.
COPY_TABLES = (
    CopyTable(
        "facts",
        (
            ("id", "integer"),
            ("scope", "text"),
            ("subject", "text"),
            ("attribute", "text"),
            ("version", "integer"),
            ("verified_claim", "integer"),
            ("head_claim", "integer"),
            ("open_disagreement", "integer"),
            ("created_at", "text"),
            ("updated_at", "text"),
        ),
        key=("id",),
        counter="id",
    ),
    CopyTable(
        "fact_claims",
        (
            ("id", "integer"),
            ("fact_id", "integer"),
            ("value", "text"),
            ("value_hash", "text"),
            ("status", "text"),
            ("author", "text"),
            ("confidence", "real"),
            ("first_seq", "integer"),
            ("last_seq", "integer"),
            ("created_at", "text"),
            ("updated_at", "text"),
        ),
        key=("id",),
        counter="id",
    ),
    CopyTable(
        "fact_sources",
        (
            ("id", "integer"),
            ("claim_id", "integer"),
            ("author", "text"),
            ("source", "text"),
            ("confidence", "real"),
            ("created_at", "text"),
            ("held", "integer"),
        ),
        key=("id",),
        counter="id",
    ),
    CopyTable(
        "fact_history",
        (
            ("fact_id", "integer"),
            ("version", "integer"),
            ("event", "text"),
            ("by", "text"),
            ("claim_id", "integer"),
            ("status", "text"),
            ("source_id", "integer"),
            ("verified_claim", "integer"),
            ("disagreement_id", "integer"),
            ("reason", "text"),
            ("created_at", "text"),
        ),
        key=(
            "fact_id",
            "version",
        ),
    ),
    CopyTable(
        "fact_disagreements",
        (
            ("id", "integer"),
            ("fact_id", "integer"),
            ("status", "text"),
            ("policy", "text"),
            ("winner_claim", "integer"),
            ("decided_by", "text"),
            ("reason", "text"),
            ("created_at", "text"),
            ("decided_at", "text"),
        ),
        key=("id",),
        counter="id",
    ),
    CopyTable(
        "fact_disagreement_claims",
        (
            ("disagreement_id", "integer"),
            ("claim_id", "integer"),
        ),
        key=(
            "disagreement_id",
            "claim_id",
        ),
    ),
    CopyTable(
        "fact_claim_runs",
        (
            ("claim_id", "integer"),
            ("run_id", "text"),
        ),
        key=("claim_id",),
    ),
    CopyTable(
        "fact_lineage",
        (
            ("claim_id", "integer"),
            ("parent_claim", "integer"),
        ),
        key=(
            "claim_id",
            "parent_claim",
        ),
    ),
    CopyTable(
        "fact_validators",
        (
            ("agent", "text"),
            ("added_by", "text"),
            ("added_at", "text"),
        ),
        key=("agent",),
    ),
    CopyTable(
        "validation_log",
        (
            ("id", "integer"),
            ("run_id", "text"),
            ("thread_id", "text"),
            ("checkpoint_id", "text"),
            ("node", "text"),
            ("claim_id", "integer"),
            ("fact_version", "integer"),
            ("validator", "text"),
            ("outcome", "text"),
            ("reason", "text"),
            ("created_at", "text"),
        ),
        key=("id",),
        counter="id",
    ),
    # SQLite's implicit rowid is the order decisions were made in; PostgreSQL names it.
    CopyTable(
        "validation_decisions",
        (
            ("rowid", "integer"),
            ("decision_key", "text"),
            ("claim_id", "integer"),
            ("fact_version", "integer"),
            ("decision", "text"),
            ("reason", "text"),
            ("by", "text"),
            ("run_id", "text"),
            ("thread_id", "text"),
            ("checkpoint_id", "text"),
            ("node", "text"),
            ("version_after", "integer"),
            ("created_at", "text"),
        ),
        key=("decision_key",),
        counter="rowid",
    ),
)

"""`Inspector`: what the ``sharedmem`` command shows, as plain data.

    from langgraph_sharedmem.cli import Inspector

    with Inspector("agents.db") as ins:          # read-only; never creates a file
        ins.threads()                            # [{"thread_id": ..., "checkpoints": 3, ...}]
        ins.facts(status="quarantined")

Every method returns JSON-compatible data (what ``--json`` prints). The database (a file, or
a ``postgresql://`` URL) is opened read-only unless ``writable=True``, which only `prune`,
`verify_index` and `rebuild_index` need. A part whose tables are not in the database
(nothing was ever written by it) reads as empty; a part this install does not have raises
`PartUnavailable`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langgraph_sharedmem.agents import AccessControl, AuditLog
from langgraph_sharedmem.checkpoint import SharedMemorySaver
from langgraph_sharedmem.checkpoint import queries as checkpoint_queries
from langgraph_sharedmem.cli import _memory, _threads
from langgraph_sharedmem.cli._jsonable import jsonable
from langgraph_sharedmem.cli._open import known_parts, open_database, part_name, recorded_steps
from langgraph_sharedmem.conversation import queries as conversation_queries
from langgraph_sharedmem.core.closing import Closing
from langgraph_sharedmem.core.values import Scope
from langgraph_sharedmem.errors import InvalidConfigError, SharedMemoryError
from langgraph_sharedmem.facts import FactLedger
from langgraph_sharedmem.facts import queries as fact_queries
from langgraph_sharedmem.store import queries as store_queries

__all__ = ["Inspector", "PartUnavailable"]

Progress = Callable[[int], None]

_SETS = {
    "checkpoints": "langgraph_sharedmem.checkpoint",
    "store": "langgraph_sharedmem.store",
    "facts": "langgraph_sharedmem.facts",
    "access": "langgraph_sharedmem.agents",
    "changes": "langgraph_sharedmem.changes",
    "registry": "langgraph_sharedmem.registry",
    "conversation": "langgraph_sharedmem.conversation",
}
_CLAIM_STATUSES = ("verified", "quarantined", "rejected", "superseded")
_DISAGREEMENT_STATUSES = ("open", "settled", "resolved")


class _UnrecordedAudit(AuditLog):
    """The audit log as the read-only inspector uses it: queries work, nothing is recorded.

    ``--viewer AGENT`` shows what that agent's grants let it see; the person inspecting is
    not the agent reading, so the access log (what agents did) gets no row for it, and the
    file stays unwritten.
    """

    def read(self, row: Any) -> None:
        pass

    def deny(self, row: Any) -> None:
        pass

    def flush(self) -> None:
        pass


class PartUnavailable(SharedMemoryError, RuntimeError):
    """The command needs a part of langgraph-sharedmem this install does not have."""


def _scope(scope: str | Sequence[str] | None) -> Scope | None:
    return None if scope is None else Scope.of(scope)


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidConfigError(f"limit must be a positive int, got {limit!r}")
    return limit


def _import(module: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PartUnavailable(
            f"{what} is not available in this install of langgraph-sharedmem "
            f"(cannot import {module})"
        ) from exc


def _pending_row(record: Any) -> dict[str, Any]:
    """A quarantined claim (the validation part's ``ClaimRecord``) as one flat row."""
    claim = record.claim
    return {
        "claim_id": claim.id,
        "scope": str(record.scope),
        "subject": record.subject,
        "attribute": record.attribute,
        "value": jsonable(claim.value),
        "status": claim.status,
        "author": claim.author,
        "confidence": claim.confidence,
        "fact_version": record.fact_version,
        "run": record.run,
        "derived_from": list(record.derived_from),
        "updated_at": claim.updated_at,
    }


class Inspector(Closing):
    """Read a langgraph-sharedmem database (see the module docstring).

    Args:
        path: The database file (it must exist), or a ``postgresql://`` URL or libpq
            connection string.
        writable: Open for writing (pruning, index repair). Default read-only.
        allowlist: Extra types checkpoint values may rebuild, as for `SharedMemorySaver`.
        chroma: Where the vector index is, for `verify_index` / `rebuild_index`:
            ``"embedded"`` (``<path>.chroma``), a directory, or a ``chromadb`` client
            (on PostgreSQL, the Chroma server's ``HttpClient``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        writable: bool = False,
        allowlist: Iterable[tuple[str, ...] | type] = (),
        chroma: Any = "embedded",
    ) -> None:
        self.writable = writable
        self.db = open_database(path, writable=writable)
        # The file a sqlite:/// URL names (its -wal and .chroma siblings are found from it),
        # or the URL without its password, for messages.
        self.path: str = self.db.path
        self._allowlist = tuple(allowlist)
        self._chroma = chroma
        self._saver: SharedMemorySaver | None = None
        self._facts: FactLedger | None = None
        self._access: AccessControl | None = None
        self._compat: Any = None

    # -- parts -----------------------------------------------------------------------------

    def has(self, part: str) -> bool:
        """Whether the file holds the tables of ``part`` (``"facts"``, ``"store"``, ...)."""
        return _SETS.get(part, part) in recorded_steps(self.db)

    @property
    def saver(self) -> SharedMemorySaver:
        if self._saver is None:
            self._saver = SharedMemorySaver(self.db, allowlist=self._allowlist)
        return self._saver

    @property
    def ledger(self) -> FactLedger:
        if self._facts is None:
            self._facts = FactLedger(self.db)
        return self._facts

    @property
    def access(self) -> AccessControl:
        if self._access is None:
            self._access = AccessControl(self.db)
            if not self.writable:
                # Through the part's own view of the database (on PostgreSQL, its dialect).
                self._access.audit_log = _UnrecordedAudit(self._access.db)
        return self._access

    # -- the whole file --------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """File sizes (on PostgreSQL: the tables' bytes), schema parts and row counts."""
        files = self._sizes()
        known = known_parts(self.db.dialect)
        parts = [
            {
                "part": part_name(name),
                "migration_set": name,
                "steps": len(steps),
                "latest_step": steps[-1],
                "known_to_this_install": name in known,
            }
            for name, steps in sorted(recorded_steps(self.db).items())
        ]
        with self._read() as conn:
            tables = _memory.table_counts(conn, self.db.dialect)
            out: dict[str, Any] = {"path": self.path, "files": files, "parts": parts}
            if "checkpoints" in tables:
                out["threads"] = checkpoint_queries.count_threads(conn)
            if "mem_index_state" in tables:
                out["index"] = store_queries.index_state(conn, self.db.dialect)
        if "fact_claims" in tables:
            with self._read(self.ledger) as conn:
                out.update(fact_queries.status_counts(conn))
        out["tables"] = tables
        return out

    def _sizes(self) -> dict[str, int]:
        if self.db.dialect == "postgres":
            with self._read() as conn:
                return {"tables_bytes": _memory.schema_bytes(conn)}
        files = {}
        for suffix in ("", "-wal", "-shm"):
            file = Path(self.path + suffix)
            files["db" + suffix.replace("-", "_")] = file.stat().st_size if file.exists() else 0
        chroma = Path(self.path + ".chroma")
        if chroma.is_dir():
            files["chroma_dir"] = sum(f.stat().st_size for f in chroma.rglob("*") if f.is_file())
        return files

    @contextmanager
    def _read(self, part: Any = None) -> Iterator[Any]:
        """One read snapshot taking the parts' SQLite-dialect reads (their ``queries``
        modules): on PostgreSQL through ``part``'s own view of the database, or a plain
        translating one."""
        if self.db.dialect == "sqlite":
            with self.db.read() as conn:
                yield conn
            return
        if part is not None:
            with part.db.read() as conn:
                yield conn
            return
        if self._compat is None:
            from langgraph_sharedmem.core.pg_compat import SerializedDatabase

            self._compat = SerializedDatabase(self.db, None, frozenset(), {})
        with self._compat.read() as conn:
            yield conn

    # -- threads and checkpoints -----------------------------------------------------------

    def threads(self, limit: int = 100) -> list[dict[str, Any]]:
        """Threads, most recently checkpointed first."""
        if not self.has("checkpoints"):
            return []
        with self._read() as conn:
            return checkpoint_queries.threads(conn, _limit(limit))

    def history(self, thread_id: str, *, ns: str = "", limit: int = 100) -> list[dict[str, Any]]:
        """A thread's checkpoints, newest first, with the channels each one changed."""
        if not self.has("checkpoints"):
            return []
        with self._read() as conn:
            return checkpoint_queries.history(conn, thread_id, ns, _limit(limit))

    def checkpoint(
        self, thread_id: str, checkpoint_id: str | None = None, *, ns: str = ""
    ) -> dict[str, Any]:
        """One checkpoint's channel values, metadata and pending writes."""
        self._need("checkpoints", "checkpoints")
        return _threads.checkpoint(self.saver, thread_id, ns, checkpoint_id)

    def diff(
        self, thread_id: str, first: str, second: str | None = None, *, ns: str = ""
    ) -> dict[str, Any]:
        """Channel values added, removed, appended to or changed between two checkpoints."""
        self._need("checkpoints", "checkpoints")
        return _threads.diff(self.saver, thread_id, ns, first, second)

    # -- the store -------------------------------------------------------------------------

    def items(self, prefix: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        """Store items under a namespace prefix (``"sharedmem.user.u1"``), newest first."""
        if not self.has("store"):
            return []
        with self._read() as conn:
            return store_queries.items(conn, prefix=prefix, limit=_limit(limit))

    def index_status(self) -> dict[str, Any]:
        """The vector index as SQLite records it (no Chroma access)."""
        self._need("store", "a store")
        with self._read() as conn:
            return store_queries.index_state(conn, self.db.dialect)

    def verify_index(self) -> dict[str, Any]:
        """Apply pending index changes, then compare Chroma with SQLite (needs ``writable``)."""
        store = self._store()
        try:
            report = store.verify_index()
        finally:
            store.close()
        return {**jsonable(report), "ok": report.ok}

    def rebuild_index(self, progress: Progress | None = None) -> int:
        """Recreate the Chroma index from the stored embeddings; the number of vectors."""
        store = self._store()
        try:
            store.setup()
            index = store._index
            if progress is not None and index is not None:
                sync = index._sync

                def counted(col: Any, keys: Any, rows: Any) -> None:
                    sync(col, keys, rows)
                    if not keys:  # rebuild passes rows only; replays pass keys
                        progress(len(rows))

                index._sync = counted  # type: ignore[method-assign]
            return store.rebuild_index()
        finally:
            store.close()

    def _store(self) -> Any:
        from langgraph_sharedmem.store import SharedMemoryStore

        self._need_writable("index repair")
        status = self.index_status()
        if status["dims"] is None:
            raise InvalidConfigError(f"{self.path!r}: this store has no semantic index")
        if self.db.dialect == "postgres" and self._chroma == "embedded":
            raise InvalidConfigError(
                f"{self.path}: on PostgreSQL the vector index is a Chroma server; say which "
                "(--chroma-url http://host:port, or chroma=chromadb.HttpClient(...))"
            )
        return SharedMemoryStore(
            self.db, index={"dims": status["dims"], "fields": ["$"]}, chroma=self._chroma
        )

    # -- facts -----------------------------------------------------------------------------

    def facts(
        self,
        *,
        scope: str | Sequence[str] | None = None,
        status: str | None = None,
        subject: str | None = None,
        attribute: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Facts as readers see them, or every claim in ``status``."""
        if status is not None and status not in _CLAIM_STATUSES:
            raise InvalidConfigError(
                f"unknown status {status!r}; expected one of {', '.join(_CLAIM_STATUSES)}"
            )
        if not self.has("facts"):
            return []
        with self._read(self.ledger) as conn:
            return fact_queries.listing(
                conn,
                scope=_scope(scope),
                status=status,
                subject=subject,
                attribute=attribute,
                limit=_limit(limit),
            )

    def fact(self, scope: str | Sequence[str], subject: str, attribute: str) -> dict[str, Any]:
        """One fact: what readers see, every claim, every version."""
        self._need("facts", "facts")
        ledger = self.ledger
        current = ledger.get(scope, subject, attribute) or ledger.get(
            scope, subject, attribute, include_unverified=True
        )
        if current is None:
            raise InvalidConfigError(f"no fact {subject}/{attribute} in scope {scope}")
        return {
            "fact": jsonable(current),
            "claims": jsonable(ledger.claims(scope, subject, attribute)),
            "history": jsonable(ledger.history(scope, subject, attribute)),
        }

    def disagreements(
        self, *, status: str | None = "open", scope: str | Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Disagreements (``status`` open, settled, resolved or None for all), oldest first."""
        if status is not None and status not in _DISAGREEMENT_STATUSES:
            raise InvalidConfigError(
                f"unknown disagreement status {status!r}; expected one of "
                f"{', '.join(_DISAGREEMENT_STATUSES)} or all"
            )
        if not self.has("facts"):
            return []
        found = self.ledger.disagreements(_scope(scope), status=status)  # type: ignore[arg-type]
        return [jsonable(d) for d in found]

    def quarantine(
        self, *, run: str | None = None, scope: str | Sequence[str] | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Claims waiting for validation, oldest first."""
        if not self.has("facts"):
            return []
        pending = getattr(self.ledger, "pending", None)
        if pending is None:  # before the validation part: quarantined claims, from SQL
            if run is not None:
                raise PartUnavailable(
                    "filtering the quarantine by run needs the validation part, which is not "
                    "available in this install of langgraph-sharedmem"
                )
            with self._read(self.ledger) as conn:
                return fact_queries.quarantined(conn, scope=_scope(scope), limit=_limit(limit))
        scopes = None if scope is None else [_scope(scope)]
        return [_pending_row(r) for r in pending(run=run, scopes=scopes)][: _limit(limit)]

    def validations(
        self,
        *,
        run: str | None = None,
        claim_id: int | None = None,
        outcome: str | None = None,
    ) -> list[dict[str, Any]]:
        """The validation log: each validator's verdict on each claim."""
        log = getattr(FactLedger, "validation_log", None)
        if log is None:
            raise PartUnavailable(
                "the validation log is not available in this install of langgraph-sharedmem "
                "(FactLedger.validation_log is missing)"
            )
        if not self.has("facts"):
            return []
        entries = self.ledger.validation_log(run=run, claim_id=claim_id, outcome=outcome)  # type: ignore[attr-defined]
        return [jsonable(e) for e in entries]

    # -- agents, conversation, audit, changes ----------------------------------------------

    def agents(
        self, *, capability: str | None = None, include_retired: bool = False
    ) -> list[dict[str, Any]]:
        """The agent registry: profiles with capabilities, tools, endpoint, last seen."""
        module = _import("langgraph_sharedmem.registry", "the agent registry")
        if not self.has("registry"):
            return []
        with module.Registry(self.db) as registry:  # a DatabasePart: closes on exit
            if capability:
                found = registry.find(capability)
            else:
                found = registry.agents(include_stale=True, include_retired=include_retired)
        return [jsonable(p) for p in found]

    def messages(
        self,
        run: str,
        *,
        thread: str | None = None,
        viewer: str | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        """Conversation history of a run (as ``viewer`` sees it; None: everything)."""
        module = _import("langgraph_sharedmem.conversation", "conversation history")
        if not self.has("conversation"):
            return []
        access = self.access if viewer is not None and self.has("access") else None
        with module.ConversationLog(self.db, access=access, embeddings=None) as log:
            page = log.page(
                run, viewer=viewer, thread=thread, limit=_limit(limit), newest_first=newest_first
            )
        return [jsonable(m) for m in page.items]

    def runs(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Runs with conversation history, most recent first: messages, senders, last time."""
        module = _import("langgraph_sharedmem.conversation", "conversation history")
        if not self.has("conversation"):
            return []
        with module.ConversationLog(self.db, embeddings=None) as log, self._read(log) as conn:
            return conversation_queries.runs(conn, limit=_limit(limit))

    def audit(
        self,
        *,
        agent: str | None = None,
        user: str | None = None,
        run: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        since: float | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Audited reads, writes, grants and denials, oldest first."""
        if outcome is not None and outcome not in ("allowed", "denied"):
            raise InvalidConfigError(f"outcome must be allowed or denied, got {outcome!r}")
        if not self.has("access"):
            return []
        entries = self.access.audit(
            agent=agent,
            user=user,
            run=run,
            action=action,
            outcome=outcome,
            since=since,
            limit=_limit(limit),
        )
        return [jsonable(e) for e in entries]

    def changes(
        self, *, after: int = 0, kind: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """The change log after ``after``, in commit order."""
        if not self.has("changes"):
            return []
        with self._read() as conn:
            return _memory.changes(conn, after=after, kind=kind, limit=_limit(limit))

    # -- pruning ---------------------------------------------------------------------------

    def prune(
        self,
        thread_ids: Sequence[str] | None = None,
        *,
        strategy: str = "keep_latest",
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Prune checkpoints of ``thread_ids`` (every thread if None), one transaction per
        thread; the checkpoints before and after."""
        self._need_writable("pruning")
        if not self.has("checkpoints"):
            return {"threads": 0, "checkpoints_before": 0, "checkpoints_after": 0}
        with self._read() as conn:
            if thread_ids is None:
                thread_ids = checkpoint_queries.thread_ids(conn)
            before = checkpoint_queries.count_checkpoints(conn)
        for thread_id in thread_ids:
            self.saver.prune([thread_id], strategy=strategy)
            if progress is not None:
                progress(1)
        with self._read() as conn:
            after = checkpoint_queries.count_checkpoints(conn)
        return {
            "threads": len(thread_ids),
            "checkpoints_before": before,
            "checkpoints_after": after,
        }

    def count_threads(self) -> int:
        if not self.has("checkpoints"):
            return 0
        with self._read() as conn:
            return checkpoint_queries.count_threads(conn)

    # -- helpers ---------------------------------------------------------------------------

    def _need(self, part: str, what: str) -> None:
        if not self.has(part):
            raise InvalidConfigError(f"{self.path!r} holds no {what} (nothing was ever written)")

    def _need_writable(self, what: str) -> None:
        if not self.writable:
            raise InvalidConfigError(f"{what} needs the database opened writable")

    def close(self) -> None:
        """Close the database. Safe to call twice."""
        if self._access is not None:
            self._access.close()
        self.db.close()

    def __repr__(self) -> str:
        return f"Inspector({self.path!r}{', writable=True' if self.writable else ''})"

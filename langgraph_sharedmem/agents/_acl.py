"""`AccessControl`: registered agents and users, their grants, and what they add up to.

    acl = mem.access
    acl.register_agent("billing"); acl.register_agent("support"); acl.register_user("u1")
    acl.grant_user("u1", "billing", read=True, write=True)           # user -> agent
    acl.grant_scope("support", ("agent", "billing"), read=True,       # agent -> scope
                    valid_until=time.time() + 3600)
    acl.revoke_user("u1", "billing")                                  # ends it; history kept

Default policy (no grant needed), for a registered agent that is not retired: read and write
its own private scope ``("agent", id)`` and the run it works in; read the app scope. Anything
else needs a live grant: the user scope a user->agent grant, writing the app scope, another
agent's private scope or another run an agent->scope grant. There are no deny rules: rights
are the union of the defaults and the live grants.

Run membership: a run is open (the run default goes to any agent working in it) until the
owner names its members (`add_run_members`); from then on the run default goes only to its
members, so an agent that names a run it is not in reads and writes nothing of it (its
conversation, its ``run`` scope, its changes) without an explicit run grant.

`permissions` answers "what may this agent, for this user in this run, do now" with one SQL
query (`_schema.EFFECTIVE`) and caches the answer until the grants change in any process
(one integer read per call) or a grant window opens or closes.
"""

from __future__ import annotations

import builtins
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from langgraph_sharedmem.agents import _schema
from langgraph_sharedmem.agents._audit import AuditEntry, AuditLog
from langgraph_sharedmem.core import changelog
from langgraph_sharedmem.core.backend import Backend
from langgraph_sharedmem.core.part import DatabasePart
from langgraph_sharedmem.core.sqlite import Database
from langgraph_sharedmem.core.values import Scope, as_scope, check_id
from langgraph_sharedmem.errors import AccessDenied, InvalidConfigError

__all__ = ["AccessControl", "Grant", "Permissions"]

WILDCARD: Final = "*"
Moment = float | datetime | None


@dataclass(frozen=True)
class Grant:
    """One edge of either graph: ``edge`` "user" (user ``scope.id`` -> ``agent``) or "scope"
    (``agent`` -> ``scope``; id "*" for every id of the kind), with its rights and window."""

    edge: str
    id: int
    agent: str
    scope: str
    read: bool
    write: bool
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None
    granted_by: str | None
    created_at: datetime

    def live(self, at: Moment = None) -> bool:
        t = _dt(at if at is not None else time.time())
        return (
            self.valid_from <= t
            and (self.valid_until is None or t < self.valid_until)
            and (self.revoked_at is None or t < self.revoked_at)
        )


@dataclass(frozen=True)
class Permissions:
    """What one agent may do for one user at one moment: ``rights[(kind, id)] = (read,
    write)``, valid until ``expires`` (epoch seconds) unless the grants change first."""

    agent: str
    user: str | None
    run: str | None
    rights: dict[tuple[str, str], tuple[bool, bool]]
    expires: float

    def allows(self, where: Scope, *, write: bool) -> bool:
        ident = where.id if where.id is not None else "default"
        exact = self.rights.get((where.kind, ident), (False, False))
        wild = self.rights.get((where.kind, WILDCARD), (False, False))
        return exact[write] or wild[write]

    def readable(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """What these rights may read, as an allow-list: the `Scope.key` of each scope, and
        the kinds a wildcard grant opens whole. Readers filter by it rather than by a list
        of hidden scopes, so a scope that appears after the rights were resolved stays
        unreadable until a grant names it."""
        keys, kinds = [], []
        for (kind, ident), (read, _) in sorted(self.rights.items()):
            if read and ident == WILDCARD:
                kinds.append(kind)
            elif read:
                keys.append(Scope(kind, None if kind == "app" else ident).key)
        return tuple(keys), tuple(kinds)


class AccessControl(DatabasePart):
    """Agents, users, grants and the audit log of one database (see the module docstring)."""

    migrations = _schema.MIGRATIONS
    copy_tables = _schema.COPY_TABLES
    requires = (changelog.MIGRATIONS,)
    pg_schemas = ("langgraph_sharedmem.core.changelog_pg", "langgraph_sharedmem.agents._schema_pg")
    db: Any  # SQLite's `Database`, or PostgreSQL seen as SQLite (`serialized`)

    def __init__(self, db: Database | Backend, *, recheck_seconds: float = 0.05) -> None:
        if recheck_seconds < 0:
            raise InvalidConfigError(f"recheck_seconds must be >= 0, got {recheck_seconds!r}")
        self._open_database(db)  # always shared: the parts it guards use the same file
        self.recheck_seconds = recheck_seconds
        self.audit_log = AuditLog(self.db)
        self._cache_lock = threading.Lock()
        self._cache: dict[
            tuple[str, str | None, str | None], tuple[int, float, int, Permissions]
        ] = {}

    # -- registry --------------------------------------------------------------------------

    # Agents as a relation ``(id, retired_at)`` for other parts' queries to join.
    AGENT_ROWS: ClassVar[str] = _schema.AGENT_ROWS

    def agent_state(self, conn: sqlite3.Connection, agent: str) -> tuple[float | None, str] | None:
        """``(retired_at, description)`` of ``agent`` read on ``conn`` (the caller's open
        transaction), or None if it was never registered."""
        row = self._own(conn).execute(_schema.AGENT_RETIRED_AND_DESCRIPTION, (agent,)).fetchone()
        return None if row is None else (row[0], row[1])

    def register_agent(self, agent: str, *, description: str = "") -> None:
        """Register (or re-activate, updating its description) an agent id."""
        check_id("agent id", agent)
        if not isinstance(description, str):
            raise InvalidConfigError(f"description must be a string, got {description!r}")
        self.setup()
        with self.db.write() as conn:
            conn.execute(_schema.UPSERT_AGENT, (agent, description, time.time()))
            self._log(conn, agent, None, "register_agent", f"agent:{agent}", agent)

    def retire_agent(self, agent: str) -> None:
        """Take every right away from an agent, defaults included; its grants stay on record."""
        self.setup()
        with self.db.write() as conn:
            self._known_agent(conn, agent)
            conn.execute(_schema.RETIRE_AGENT, (time.time(), agent))
            self._log(conn, agent, None, "retire_agent", f"agent:{agent}", agent)

    def register_user(self, user: str) -> None:
        """Register a user id (idempotent)."""
        check_id("user id", user)
        self.setup()
        with self.db.write() as conn:
            conn.execute(_schema.INSERT_USER, (user, time.time()))
            self._log(conn, None, user, "register_user", f"user:{user}", user)

    def check_principals(self, agent: str, user: str | None) -> None:
        """`InvalidConfigError` unless ``agent`` (and ``user``) are registered, agent active."""
        check_id("agent id", agent)
        if user is not None:
            check_id("user id", user)
        self.setup()
        with self.db.read() as conn:
            self._known_agent(conn, agent, active=True)
            if user is not None:
                self._known_user(conn, user)

    # -- grants ----------------------------------------------------------------------------

    def grant_user(
        self,
        user: str,
        agent: str,
        *,
        read: bool = True,
        write: bool = False,
        valid_from: Moment = None,
        valid_until: Moment = None,
        granted_by: str | None = None,
    ) -> Grant:
        """User ``user`` lets ``agent`` read and/or write the user's memory over a window."""
        check_id("user id", user)
        check_id("agent id", agent)
        start, end = _window(valid_from, valid_until)
        rights = _rights(read, write)
        self.setup()
        with self.db.write() as conn:
            self._known_user(conn, user)
            self._known_agent(conn, agent)
            cur = conn.execute(
                _schema.INSERT_USER_GRANT,
                (user, agent, *rights, start, end, granted_by, time.time()),
            )
            detail = _detail(rights, start, end)
            self._log(conn, agent, user, "grant_user", f"user:{user}", granted_by, detail)
            return self._grant(conn, "user", cur.lastrowid)

    def grant_scope(
        self,
        agent: str,
        scope: Any,
        *,
        read: bool = True,
        write: bool = False,
        valid_from: Moment = None,
        valid_until: Moment = None,
        granted_by: str | None = None,
    ) -> Grant:
        """Let ``agent`` read and/or write ``scope`` (``"app"``, ``("agent", id)``,
        ``("run", id)``; id ``"*"`` for all of a kind) over a window. User scopes are the
        user's to give: `grant_user`."""
        check_id("agent id", agent)
        kind, ident = _grant_target(scope)
        start, end = _window(valid_from, valid_until)
        rights = _rights(read, write)
        self.setup()
        with self.db.write() as conn:
            self._known_agent(conn, agent)
            cur = conn.execute(
                _schema.INSERT_SCOPE_GRANT,
                (agent, kind, ident, *rights, start, end, granted_by, time.time()),
            )
            detail = _detail(rights, start, end)
            self._log(conn, agent, None, "grant_scope", f"{kind}:{ident}", granted_by, detail)
            return self._grant(conn, "scope", cur.lastrowid)

    def revoke_user(self, user: str, agent: str, *, by: str | None = None) -> int:
        """End now every live or future grant of ``user`` to ``agent``; how many ended."""
        check_id("user id", user)
        check_id("agent id", agent)
        self.setup()
        with self.db.write() as conn:
            self._known_user(conn, user)
            self._known_agent(conn, agent)
            params = {"t": time.time(), "user": user, "agent": agent}
            n = conn.execute(_schema.REVOKE_USER_GRANTS, params).rowcount
            self._log(conn, agent, user, "revoke_user", f"user:{user}", by, f"ended {n}")
            return n

    def revoke_scope(self, agent: str, scope: Any, *, by: str | None = None) -> int:
        """End now every live or future grant of ``agent`` on ``scope``; how many ended."""
        check_id("agent id", agent)
        kind, ident = _grant_target(scope)
        self.setup()
        with self.db.write() as conn:
            self._known_agent(conn, agent)
            params = {"t": time.time(), "agent": agent, "kind": kind, "id": ident}
            n = conn.execute(_schema.REVOKE_SCOPE_GRANTS, params).rowcount
            self._log(conn, agent, None, "revoke_scope", f"{kind}:{ident}", by, f"ended {n}")
            return n

    # -- run membership --------------------------------------------------------------------

    def add_run_members(
        self, run: str, agents: Iterable[str], *, by: str | None = None
    ) -> builtins.list[str]:
        """Make ``agents`` members of ``run`` and close it: from now on only its members
        (and agents with a ``("run", run)`` grant) read and write the run's conversation and
        ``run`` scope. An open run (never given members) is every agent's, as before.
        Returns the members now."""
        check_id("run id", run)
        names = [check_id("agent id", a) for a in _agent_list(agents)]
        self.setup()
        with self.db.write() as conn:
            for agent in names:
                self._known_agent(conn, agent)
            now = time.time()
            conn.execute(_schema.CLOSE_RUN, (run, by, now))
            for agent in names:
                conn.execute(_schema.ADD_RUN_MEMBER, (run, agent, by, now))
                self._log(conn, agent, None, "add_run_member", f"run:{run}", by)
            return self._members(conn, run)

    def remove_run_member(self, run: str, agent: str, *, by: str | None = None) -> bool:
        """End ``agent``'s membership of ``run`` now (the run stays closed); whether it was
        a member. Its reads of the run stop at once, cached summaries included."""
        check_id("run id", run)
        check_id("agent id", agent)
        self.setup()
        with self.db.write() as conn:
            n = conn.execute(_schema.REMOVE_RUN_MEMBER, (time.time(), run, agent)).rowcount
            self._log(conn, agent, None, "remove_run_member", f"run:{run}", by, f"ended {n}")
            return n > 0

    def _check_run_sender(self, conn: Any, run: str, sender: str) -> None:
        """Inside a write transaction: `AccessDenied` if ``run`` is closed and ``sender`` is
        a registered agent that may not write it (not a member, no run grant). Senders that
        are not agents (the user, the system) speak through the orchestrator: not checked."""
        if conn.execute(_schema.RUN_CLOSED, (run,)).fetchone() is None:
            return
        if conn.execute(_schema.AGENT_STATE, (sender,)).fetchone() is None:
            return
        perms = self.resolve(conn, sender, None, run, time.time())
        if not perms.allows(Scope.run(run), write=True):
            raise AccessDenied(
                f"agent {sender!r} may not post in run {run!r}: the run's members are "
                f"{self._members(conn, run)} (mem.access.add_run_members adds one)",
                agent=sender,
                action="append",
                scope=f"run:{run}",
            )

    def _members(self, conn: Any, run: str) -> builtins.list[str]:
        return [a for (a,) in conn.execute(_schema.RUN_MEMBERS, (run,))]

    def run_members(self, run: str) -> builtins.list[str] | None:
        """The members of ``run``, or None while it is open (every agent's)."""
        check_id("run id", run)
        self.setup()
        with self.db.read() as conn:
            if conn.execute(_schema.RUN_CLOSED, (run,)).fetchone() is None:
                return None
            return self._members(conn, run)

    def grants(
        self, *, agent: str | None = None, user: str | None = None, live_at: Moment = None
    ) -> builtins.list[Grant]:
        """Grants (ended ones too), oldest first; ``live_at`` keeps those live at that time."""
        self.setup()
        sql = f"SELECT * FROM ({_schema.SELECT_GRANTS}) AS g WHERE 1"
        params: builtins.list[Any] = []
        if agent is not None:
            sql += " AND agent_id = ?"
            params.append(agent)
        if user is not None:
            sql += " AND edge = 'user' AND scope_id = ?"
            params.append(user)
        with self.db.read() as conn:
            rows = conn.execute(sql + " ORDER BY created_at, edge, id", params).fetchall()
        out = [_grant_from_row(r) for r in rows]
        return out if live_at is None else [g for g in out if g.live(live_at)]

    # -- effective permissions -------------------------------------------------------------

    def _on_postgres(self, db: Any) -> Any:
        return serialized(db)

    def _own(self, conn: Any) -> Any:
        """``conn`` of the caller's transaction, taking this part's statements (PostgreSQL:
        translated with `_schema_pg`, whoever opened the transaction)."""
        return conn if self.db.dialect == "sqlite" else self.db.wrap(conn)

    def version(self, conn: Any) -> int:
        return int(self._own(conn).execute(_schema.GRANTS_VERSION).fetchone()[0])

    def resolve(
        self, conn: Any, agent: str, user: str | None, run: str | None, at: float
    ) -> Permissions:
        """The effective permissions at ``at``: one query (`_schema.EFFECTIVE`)."""
        rows = (
            self._own(conn)
            .execute(_schema.EFFECTIVE, {"agent": agent, "user": user, "run": run, "t": at})
            .fetchall()
        )
        rights = {(k, i): (bool(r), bool(w)) for k, i, r, w, _ in rows}
        expires = min((b for *_, b in rows), default=1e300)
        return Permissions(agent, user, run, rights, expires)

    def permissions(self, agent: str, user: str | None, run: str | None) -> Permissions:
        """`resolve` for now, served from a cache while it is known to hold.

        A cached answer is used until (a) a grant window in it opens or closes, (b) any
        `AccessControl` on this `Database` changes a grant (immediately, in this process), or
        (c) the grants version in the file moved, which is read at most every
        ``recheck_seconds`` (another process's change takes effect on reads within that
        bound; writes always check inside their own transaction). Measured: one SQL round trip
        costs 6-15 us, and a store get ~40 us, so checking the file on every read alone would
        exceed the 10% overhead budget of a view's reads.
        """
        return self.permissions_until(agent, user, run)[0]

    @property
    def generation(self) -> list[int]:
        """This process's counter of grant changes on this database (a one-item list that
        changes in place): a cached answer taken at another value is stale."""
        return _generation(self.db)

    def permissions_until(
        self, agent: str, user: str | None, run: str | None
    ) -> tuple[Permissions, float]:
        """`permissions` and the `time.monotonic` moment until which the caller may reuse
        them without asking again (if ``generation`` has not moved): views keep their own
        copy so a read costs one clock read and two comparisons."""
        key = (agent, user, run)
        now = time.monotonic()
        wall = time.time()
        generation = _generation(self.db)[0]
        hit = self._cache.get(key)  # a dict read is atomic; writers take the lock
        cached: Permissions | None = None
        if hit is not None:
            cached_version, checked, gen, cached = hit
            if gen != generation or wall >= cached.expires:
                cached = None
            elif now - checked < self.recheck_seconds:
                return cached, self._deadline(checked, now, wall, cached)
        # One read transaction: the version, and the rights only if it moved (or no hit).
        with self.db.read() as conn:
            version = self.version(conn)
            if cached is not None and version == cached_version:
                perms = cached
            else:
                perms = self.resolve(conn, agent, user, run, wall)
        with self._cache_lock:
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[key] = (version, now, generation, perms)
        return perms, self._deadline(now, now, wall, perms)

    def _deadline(self, checked: float, now: float, wall: float, perms: Permissions) -> float:
        return min(checked + self.recheck_seconds, now + (perms.expires - wall))

    # -- audit -----------------------------------------------------------------------------

    def audit(self, **filters: Any) -> builtins.list[AuditEntry]:
        """Audit entries, oldest first; filters: agent, user, run, action, outcome, since,
        until, limit (see `AuditLog.query`)."""
        self.setup()
        return self.audit_log.query(**filters)

    def _release(self) -> None:
        """Write the buffered read records."""
        if self.is_setup:
            self.audit_log.close()

    # -- helpers ---------------------------------------------------------------------------

    def _log(
        self,
        conn: Any,
        agent: str | None,
        user: str | None,
        action: str,
        scope: str,
        subject: str | None,
        detail: str | None = None,
    ) -> None:
        self.audit_log.write(
            conn, AuditLog.row(agent, user, None, action, scope, subject, "allowed", detail)
        )
        changelog.record(
            conn,
            kind="access",
            op=action,
            key=scope,
            author=subject,
            data={"agent": agent, "user": user, "detail": detail},
        )
        _generation(self.db)[0] += 1  # cached permissions of this process are stale now

    def _known_agent(self, conn: Any, agent: str, *, active: bool = False) -> None:
        row = conn.execute(_schema.AGENT_STATE, (agent,)).fetchone()
        if row is None:
            raise InvalidConfigError(
                f"unknown agent {agent!r}: register it first (mem.access.register_agent)"
            )
        if active and row[0] is not None:
            raise InvalidConfigError(f"agent {agent!r} is retired")

    def _known_user(self, conn: Any, user: str) -> None:
        if conn.execute(_schema.USER_EXISTS, (user,)).fetchone() is None:
            raise InvalidConfigError(
                f"unknown user {user!r}: register it first (mem.access.register_user)"
            )

    def _grant(self, conn: Any, edge: str, grant_id: int | None) -> Grant:
        row = conn.execute(
            f"SELECT * FROM ({_schema.SELECT_GRANTS}) AS g WHERE edge = ? AND id = ?",
            (edge, grant_id),
        ).fetchone()
        return _grant_from_row(row)


_GENERATIONS: weakref.WeakKeyDictionary[Database, list[int]] = weakref.WeakKeyDictionary()
_GENERATIONS_LOCK = threading.Lock()


def serialized(db: Any) -> Any:
    """A PostgreSQL ``db`` as the access rules' SQLite logic expects it (`_schema_pg`)."""
    from langgraph_sharedmem.agents import _schema_pg
    from langgraph_sharedmem.core.pg_compat import SerializedDatabase

    if isinstance(db, SerializedDatabase) and db.lock_key == _schema_pg.ACL_LOCK:
        return db
    return SerializedDatabase(db, _schema_pg.ACL_LOCK, _schema_pg.ID_TABLES, _schema_pg.OVERRIDES)


def _generation(db: Database) -> list[int]:
    """A per-`Database` counter of grant changes made in this process (a one-item list)."""
    db = getattr(db, "inner", db)  # PostgreSQL: the backend, not one part's view of it
    found = _GENERATIONS.get(db)
    if found is None:
        with _GENERATIONS_LOCK:
            found = _GENERATIONS.setdefault(db, [0])
    return found


def _agent_list(agents: Any) -> builtins.list[str]:
    if isinstance(agents, str):
        return [agents]
    if not isinstance(agents, Iterable):
        raise InvalidConfigError(f"agents must be agent ids, got {agents!r}")
    out = builtins.list(agents)
    if not out:
        raise InvalidConfigError("add_run_members needs at least one agent")
    return out


def _dt(moment: float | datetime) -> datetime:
    return moment if isinstance(moment, datetime) else datetime.fromtimestamp(moment, UTC)


def _seconds(what: str, moment: Moment) -> float | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise InvalidConfigError(f"{what} {moment!r} has no time zone; pass an aware datetime")
        return moment.timestamp()
    if isinstance(moment, bool) or not isinstance(moment, (int, float)) or moment != moment:
        raise InvalidConfigError(f"{what} must be a datetime or epoch seconds, got {moment!r}")
    return float(moment)


def _window(valid_from: Moment, valid_until: Moment) -> tuple[float, float | None]:
    start = _seconds("valid_from", valid_from)
    end = _seconds("valid_until", valid_until)
    start = time.time() if start is None else start
    if end is not None and end <= start:
        raise InvalidConfigError(
            f"the grant's window ends ({_dt(end).isoformat()}) before it starts "
            f"({_dt(start).isoformat()}); valid_until must be after valid_from"
        )
    return start, end


def _rights(read: Any, write: Any) -> tuple[int, int]:
    if not isinstance(read, bool) or not isinstance(write, bool):
        raise InvalidConfigError(f"read and write must be booleans, got {read!r}, {write!r}")
    if not (read or write):
        raise InvalidConfigError("a grant must give read, write or both")
    return int(read), int(write)


def _grant_target(scope: Any) -> tuple[str, str]:
    text = scope if isinstance(scope, str) else None
    if isinstance(scope, (tuple, list)) and len(scope) == 2 and scope[1] == WILDCARD:
        kind, ident = scope[0], WILDCARD
    elif text is not None and text.endswith(":" + WILDCARD):
        kind, ident = text[: -len(WILDCARD) - 1], WILDCARD
    else:
        where = as_scope(scope)
        kind, ident = where.kind, where.id if where.id is not None else "default"
    if kind == "user":
        raise InvalidConfigError(
            "user scopes are granted by their user: use grant_user(user, agent, ...)"
        )
    if kind not in ("app", "agent", "run"):
        raise InvalidConfigError(f"unknown scope kind {kind!r}; expected 'app', 'agent', 'run'")
    return kind, ident


def _detail(rights: tuple[int, int], start: float, end: float | None) -> str:
    mode = "rw" if all(rights) else ("r" if rights[0] else "w")
    until = "open" if end is None else _dt(end).isoformat()
    return f"{mode} from {_dt(start).isoformat()} until {until}"


def _grant_from_row(row: tuple[Any, ...]) -> Grant:
    edge, gid, agent, kind, ident, r, w, start, end, revoked, by, created = row
    return Grant(
        edge,
        gid,
        agent,
        f"{kind}:{ident}",
        bool(r),
        bool(w),
        _dt(start),
        None if end is None else _dt(end),
        None if revoked is None else _dt(revoked),
        by,
        _dt(created),
    )

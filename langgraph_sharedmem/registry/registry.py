"""`Registry`: which agents exist, what they can do, whether they are alive, and who knows what.

    from langgraph_sharedmem import SharedMemory

    with SharedMemory.open("agents.db") as mem:
        reg = mem.registry
        reg.register("billing", description="Invoices, refunds and payment questions",
                     capabilities=["billing", "refunds"], tools=["stripe_lookup"], trust=0.9)
        reg.heartbeat("billing")                          # from the agent, now and then
        reg.search("who can answer billing questions?")   # semantic, through the store index
        best = reg.route("refund order 42", k=2)          # ranked, with scores and reasons
        reg.who_knows("order:42")                         # authors of verified facts
        reg.record_outcome("billing", "refund order 42")  # routing learns from outcomes

One row per agent name in the database; registering again replaces the profile. The agent id is
registered with `AccessControl` and its descriptive text put in the store in the same
transaction, so the registry, the access rules and the semantic index never disagree. How it
ranks and what is logged: ``docs/registry.md``.
"""

from __future__ import annotations

import builtins
import json
import math
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Literal

import numpy as np
from langgraph.store.base import PutOp

from langgraph_sharedmem import _ranking
from langgraph_sharedmem.agents import AccessControl
from langgraph_sharedmem.core import changelog
from langgraph_sharedmem.core.backend import Backend
from langgraph_sharedmem.core.part import DatabasePart
from langgraph_sharedmem.core.sqlite import Database
from langgraph_sharedmem.core.values import Scope, check_id, check_name
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import queries as fact_queries
from langgraph_sharedmem.registry import _rank, _schema
from langgraph_sharedmem.registry._model import (
    AgentMatch,
    AgentProfile,
    Expert,
    Route,
    change_data,
    check_profile,
    check_seconds,
    check_text,
    profile_from_row,
)
from langgraph_sharedmem.store import SharedMemoryStore
from langgraph_sharedmem.store.embedding import (
    default_index,
    embed_texts,
    embedding_ahead,
    normalize,
)

__all__ = ["Registry"]

_DEFAULTS: Final[Mapping[str, Any]] = {
    "description": "",
    "capabilities": (),
    "tools": (),
    "endpoint": None,
    "graph_id": None,
    "owner": None,
    "allowed_scopes": (),
    "trust": 0.5,
    "version": "",
    "metadata": None,
    "heartbeat_timeout": None,
}
_MAX_QUERY: Final = 8_000
_RETIRED_AT: Final = -1  # registry_agents' last column


class Registry(DatabasePart):
    """The agent registry of one database (see the module docstring).

    Args:
        conn: A path, a ``sqlite:///`` or ``postgresql://`` URL, or an open database
            (shared with a `SharedMemory`, then not closed here).
        store: The store holding each agent's descriptive text for semantic lookup. Opened
            here (offline WordLlama index) when ``conn`` is a path; with a `Database` and no
            store, lookups match keywords only.
        access: The `AccessControl` agents are registered with (one is made if omitted).
        stale_after: Seconds without a heartbeat after which an agent is *stale*: left out of
            lookups and routing and listed by `stale`. ``None``: never. An agent's own
            ``heartbeat_timeout`` overrides it.
    """

    migrations = _schema.MIGRATIONS
    copy_tables = _schema.COPY_TABLES
    requires = (changelog.MIGRATIONS,)
    pg_schemas = (
        "langgraph_sharedmem.core.changelog_pg",
        "langgraph_sharedmem.agents._schema_pg",
        "langgraph_sharedmem.registry._schema_pg",
    )
    db: Any  # SQLite's `Database`, or PostgreSQL seen as SQLite (`_on_postgres`)

    def __init__(
        self,
        conn: str | os.PathLike[str] | Database | Backend,
        *,
        store: SharedMemoryStore | None = None,
        access: AccessControl | None = None,
        stale_after: float | None = 300.0,
    ) -> None:
        self.stale_after = stale_after
        self._open_database(conn)
        for part, what in ((store, "store"), (access, "access")):
            if part is not None and _backend(part.db) is not _backend(self.db):
                raise InvalidConfigError(f"{what} must use the registry's Database {self.db!r}")
        self._owned: list[DatabasePart] = []
        if access is None:
            access = AccessControl(self.db)
            self._owned.append(access)
        on_sqlite = self.db.dialect == "sqlite"
        if store is None and self._owns_db and (on_sqlite or SharedMemoryStore.runs_on_postgres()):
            store = SharedMemoryStore(_backend(self.db), index=default_index())
            self._owned.append(store)
        self.access = access
        self.store = store
        self._capabilities: dict[str, tuple[float, frozenset[str]]] = {}
        # name -> (text, text vector, word stems, description vector, description's word
        # vectors): see `_meaning`.
        self._meanings: dict[str, tuple[str, Any, frozenset[str], Any, Any]] = {}
        self._history = _History()

    def _on_postgres(self, db: Any) -> Any:
        """The registry's SQLite logic on PostgreSQL (`registry._schema_pg`): its writes
        serialize on one advisory lock, as ``BEGIN IMMEDIATE`` serializes them on SQLite."""
        from langgraph_sharedmem.core.pg_compat import SerializedDatabase
        from langgraph_sharedmem.registry import _schema_pg

        return SerializedDatabase(
            db, _schema_pg.REGISTRY_LOCK, _schema_pg.ID_TABLES, _schema_pg.OVERRIDES
        )

    @property
    def stale_after(self) -> float | None:
        """Default seconds without a heartbeat before an agent is stale (None: never)."""
        return self._stale_after

    @stale_after.setter
    def stale_after(self, value: float | None) -> None:
        self._stale_after = check_seconds("stale_after", value)

    @property
    def semantic(self) -> bool:
        """Whether lookups are semantic (the store has an index) or match keywords."""
        return self.store is not None and self.store.index_config is not None

    def setup(self) -> None:
        """Create or upgrade the tables (and those of access control and the store)."""
        if not self.is_setup:
            self.access.setup()
            if self.store is not None:
                self.store.setup()
            super().setup()

    # -- writes ----------------------------------------------------------------------------

    def register(
        self,
        name: str,
        *,
        description: str = "",
        capabilities: Iterable[str] = (),
        tools: Iterable[Any] = (),
        endpoint: str | None = None,
        graph_id: str | None = None,
        owner: str | None = None,
        allowed_scopes: Iterable[Any] = (),
        trust: float = 0.5,
        version: str = "",
        metadata: Mapping[str, Any] | None = None,
        heartbeat_timeout: float | None = None,
    ) -> AgentProfile:
        """Register ``name`` or replace its profile (one row per name, in every process).

        Also registers (or re-activates) the id with `AccessControl` and puts the agent's
        descriptive text in the store, in the same transaction. Counts as a heartbeat; an
        unchanged profile writes nothing else. ``tools``: names or LangChain tools;
        ``allowed_scopes``: scopes as in grants (``"app"``, ``"user:*"``, ``("run", "*")``) —
        a description, not a grant; ``trust`` in [0, 1]; ``heartbeat_timeout``: seconds
        (``math.inf``: never stale; None: the registry's ``stale_after``).
        """
        fields = {
            "description": description,
            "capabilities": capabilities,
            "tools": tools,
            "endpoint": endpoint,
            "graph_id": graph_id,
            "owner": owner,
            "allowed_scopes": allowed_scopes,
            "trust": trust,
            "version": version,
            "metadata": metadata,
            "heartbeat_timeout": heartbeat_timeout,
        }
        row = check_profile(name, fields)
        self.setup()
        put_text = self._prepare_text(row)
        with self.db.write() as conn:
            return self._write(conn, row, put_text)

    def update(self, name: str, **fields: Any) -> AgentProfile:
        """Change some fields of a registered agent's profile, keeping the others."""
        unknown = set(fields) - set(_DEFAULTS)
        if unknown:
            raise InvalidConfigError(
                f"unknown profile fields {sorted(unknown)}; expected some of {sorted(_DEFAULTS)}"
            )
        check_id("agent name", name)
        self.setup()
        current = self.get(name)
        if current is None:
            raise _unknown(name)
        row = check_profile(name, {k: getattr(current, k) for k in _DEFAULTS} | fields)
        put_text = self._prepare_text(row)
        with self.db.write() as conn:
            current = self._profile(conn, name)  # again: another process may have changed it
            if current is None:
                raise _unknown(name)
            merged = check_profile(name, {k: getattr(current, k) for k in _DEFAULTS} | fields)
            if merged != row:  # changed meanwhile: embed the merged text, under the lock
                put_text = self._prepare_text(merged)
            return self._write(conn, merged, put_text)

    def heartbeat(self, name: str) -> float:
        """Record that ``name`` is alive now; returns the time recorded.

        Not written to the change log — an agent beating every few seconds would flood it,
        and "still alive" is no change — except when the agent was stale: that beat is
        logged as ``op="heartbeat"`` (back online), at most once per stale period.
        """
        check_id("agent name", name)
        self.setup()
        with self.db.write() as conn:
            now = time.time()
            current = self._profile(conn, name, now=now)
            if current is None:
                raise _unknown(name)
            if current.retired:
                raise InvalidConfigError(f"agent {name!r} is retired; register it again")
            conn.execute(_schema.TOUCH, (now, name))
            if current.stale:
                changelog.record(
                    conn,
                    kind="agent",
                    op="heartbeat",
                    key=name,
                    author=name,
                    data={"stale_for": round(now - current.last_seen, 3)},
                )
        return now

    def retire(self, name: str) -> bool:
        """Take ``name`` out of lookups and routing and every access right (the same
        transaction retires it in `AccessControl`); False if it was already retired.
        Registering it again brings it back."""
        check_id("agent name", name)
        self.setup()
        with self.db.write() as conn:
            now = time.time()
            old = conn.execute(_schema.SELECT_ROW, (name,)).fetchone()
            if old is None:
                raise _unknown(name)
            acl = self.access.agent_state(conn, name)
            acl_active = acl is not None and acl[0] is None
            registry_active = old[_RETIRED_AT] is None
            if not (acl_active or registry_active):
                return False
            if registry_active:
                conn.execute(_schema.RETIRE, (now, now, name))
            if acl_active:
                self.access.retire_agent(name)
            if self.store is not None:
                self.store.delete(_schema.NAMESPACE, name)
            changelog.record(conn, kind="agent", op="retire", key=name, data={"at": now})
            return True

    def record_outcome(self, agent: str, task: str, *, ok: bool = True) -> int:
        """Record that ``agent`` handled ``task`` and whether it went well (``ok``); returns
        the outcome's id. `route` then counts the nearest past tasks as evidence for the
        agents that handled them well and against those that did not (see
        ``docs/registry.md``, "Learning from outcomes"). The task is embedded here, before
        the write lock is taken; the change log records ``op="outcome"`` (without the task's
        text: every active agent reads registry changes)."""
        check_id("agent name", agent)
        check_text("task", task, limit=_MAX_QUERY, empty=False)
        if not isinstance(ok, bool):
            raise InvalidConfigError(f"ok must be True or False, got {ok!r}")
        self.setup()
        vector, dims = None, None
        spec = None if self.store is None else self.store.index_spec
        if self.semantic and spec is not None:
            found = normalize(embed_texts(spec.embeddings, [task], spec.dims))[0]
            vector, dims = np.asarray(found, dtype=np.float32).tobytes(), len(found)
        with self.db.write() as conn:
            if conn.execute(_schema.SELECT_ROW, (agent,)).fetchone() is None:
                raise _unknown(agent)
            now = time.time()
            cursor = conn.execute(_schema.INSERT_OUTCOME, (agent, task, ok, vector, dims, now))
            outcome_id = int(cursor.lastrowid or 0)
            changelog.record(
                conn, kind="agent", op="outcome", key=agent, data={"id": outcome_id, "ok": ok}
            )
        return outcome_id

    def _write(
        self, conn: sqlite3.Connection, row: dict[str, Any], put_text: Callable[[], object] | None
    ) -> AgentProfile:
        """Write ``row``; ``put_text`` is `_prepare_text` of the same row."""
        name = row["name"]
        now = time.time()
        cursor = conn.execute(_schema.SELECT_ROW, (name,))
        found = cursor.fetchone()
        old = (
            None
            if found is None
            else dict(zip([d[0] for d in cursor.description], found, strict=True))
        )
        acl = self.access.agent_state(conn, name)
        if acl is None or acl[0] is not None or acl[1] != row["description"]:
            self.access.register_agent(name, description=row["description"])
        fields = _schema.PROFILE_FIELDS[1:]
        changed = [] if old is None else [f for f in fields if old[f] != row[f]]
        came_back = acl is not None and acl[0] is not None
        if old is None or old["retired_at"] is not None or came_back:
            op: str | None = "register"
        else:
            op = "update" if changed else None
        params = {**row, "now": now}
        if op is None:
            conn.execute(_schema.TOUCH, (now, name))
            if put_text is not None and not self._indexed(name, row["text"]):
                put_text()
        else:
            conn.execute(_schema.INSERT_AGENT if old is None else _schema.UPDATE_AGENT, params)
            conn.execute(_schema.DELETE_CAPABILITIES, (name,))
            conn.executemany(
                _schema.INSERT_CAPABILITY,
                [(c, name) for c in _loads(row["capabilities"])],
            )
            data = change_data(row)
            if old is not None:
                data["changed"] = changed
            changelog.record(conn, kind="agent", op=op, key=name, data=data)
            if put_text is not None:
                put_text()
        profile = self._profile(conn, name, now=now)
        assert profile is not None
        return profile

    def _prepare_text(self, row: Mapping[str, Any]) -> Callable[[], object] | None:
        """The store put of the agent's text, embedded now (before the write lock is taken:
        a remote embedder would otherwise hold every process's writes for a network call)."""
        if self.store is None:
            return None
        # No TTL whatever the store's default: the registry row is the source of truth and
        # its text must not expire under it.
        return self.store.prepare(
            [PutOp(_schema.NAMESPACE, row["name"], _text_value(row), index=["text"], ttl=None)]
        )

    def _indexed(self, name: str, text: str) -> bool:
        assert self.store is not None
        item = self.store.get(_schema.NAMESPACE, name)
        return item is not None and item.value.get("text") == text

    # -- reads -----------------------------------------------------------------------------

    def get(self, name: str) -> AgentProfile | None:
        """The profile of ``name`` (also when stale or retired: see its flags), or None."""
        check_id("agent name", name)
        self.setup()
        with self.db.read() as conn:
            return self._profile(conn, name)

    def agents(
        self, *, include_stale: bool = False, include_retired: bool = False
    ) -> builtins.list[AgentProfile]:
        """Registered agents by name; available ones only unless asked."""
        self.setup()
        where = "" if include_retired else _schema.WHERE_LIVE
        with self.db.read() as conn:
            found = self._select(conn, where)
        return [a for a in found if include_stale or not a.stale]

    def stale(self) -> builtins.list[AgentProfile]:
        """Agents neither retired nor beating: their last heartbeat is older than their
        timeout. Lookups and routing leave them out; this is where they are reported."""
        return [a for a in self.agents(include_stale=True) if a.stale]

    def find(self, capability: str, *, include_stale: bool = False) -> builtins.list[AgentProfile]:
        """Available agents declaring ``capability`` (exact, case-insensitive), by name."""
        label = check_text("capability", capability, limit=256, empty=False).strip().lower()
        self.setup()
        with self.db.read() as conn:
            found = self._select(
                conn,
                f"{_schema.WHERE_CAPABILITY} AND r.retired_at IS NULL AND a.retired_at IS NULL",
                capability=label,
            )
        return [a for a in found if include_stale or not a.stale]

    def search(
        self, query: str, *, k: int = 5, include_stale: bool = False
    ) -> builtins.list[AgentMatch]:
        """Available agents whose description answers ``query``, best first, in the store's
        order (cosine similarity, fused with hits on the query's rare words such as names;
        ``score`` is the cosine). With the store's index off: the share of the query's words
        found in the agent's text, and agents sharing none are left out."""
        check_text("query", query, limit=_MAX_QUERY, empty=False)
        k = _check_k(k)
        candidates, in_store = self._candidates(include_stale)
        method: Literal["semantic", "keyword"]
        if self.semantic:
            # The store holds every agent not retired here; ask for enough to make up for
            # those left out (stale, retired in access control). Its order is kept: hybrid
            # ranking lets a rare word (a name, an id) in the query count.
            scores = self._semantic(query, k + in_store - len(candidates))
            available = {c.name: c for c in candidates}
            found = [(s, available[n]) for n, s in scores.items() if n in available]
            method = "semantic"
        else:
            found = [(_rank.keyword_score(query, c.text), c) for c in candidates]
            found = [(s, c) for s, c in found if s > 0]
            found.sort(key=lambda pair: (-pair[0], pair[1].name))
            method = "keyword"
        profiles = self._profiles([c.name for _, c in found[:k]])
        return [AgentMatch(agent=profiles[c.name], score=s, method=method) for s, c in found[:k]]

    def route(
        self,
        task: str,
        *,
        k: int = 3,
        require: Iterable[str] = (),
        weights: Any = None,
        min_score: float | None = None,
        include_stale: bool = False,
    ) -> builtins.list[Route]:
        """The best available agents for ``task``, best first, each with its score and the
        reasons for it. ``score`` is what the order is made by: the `RouteWeights` sum
        (defaults chosen on a labelled set, see ``docs/registry.md``) of the cosine of task
        and description, how near the task's words are to the description's (a word only a
        negated clause holds, "not a voucher", counts less), minus how generic the agent
        is, plus the share of the capabilities the task names (or ``require`` lists) the
        agent has, plus trust. Equal scores go to a live agent, then to the one backing more
        verified facts, then to higher trust. Agents lacking a ``require``d capability are
        left out; so are stale and retired ones, and scores below ``min_score`` (None: no
        floor; a generic description can score below 0)."""
        check_text("task", task, limit=_MAX_QUERY, empty=False)
        k = _check_k(k)
        if isinstance(require, str):
            require = [require]
        required = {
            check_text(f"require[{i}]", c, limit=256, empty=False).strip().lower()
            for i, c in enumerate(require)
        }
        weights = _rank.check_weights(weights)
        if min_score is not None and (
            isinstance(min_score, bool)
            or not isinstance(min_score, (int, float))
            or math.isnan(min_score)
        ):
            raise InvalidConfigError(f"min_score must be a number, got {min_score!r}")
        candidates, wanted, parts, method = self._route_parts(task, required, include_stale)
        scored = [
            (_rank.score(weights, *(p[c.name] for p in parts.values())), c) for c in candidates
        ]
        counts = Counter(s for s, _ in scored)
        tied = [c.name for s, c in scored if counts[s] > 1]
        record = self._track_records(tied) if tied else {}
        scored.sort(key=lambda pair: _rank.order(pair[0], pair[1], record.get(pair[1].name, 0)))
        best = [(s, c) for s, c in scored if min_score is None or s >= min_score][:k]
        profiles = self._profiles([c.name for _, c in best])
        return [
            Route(
                agent=profiles[c.name],
                score=s,
                capability_score=parts["capability"][c.name],
                semantic_score=parts["similarity"][c.name],
                trust=c.trust,
                reasons=_rank.reasons(
                    c, wanted, {p: v[c.name] for p, v in parts.items()}, method, weights
                ),
                outcome_score=parts["outcome"][c.name],
            )
            for s, c in best
        ]

    def _route_parts(
        self,
        task: str,
        required: set[str],
        include_stale: bool,
        *,
        negated_weight: float = _ranking.NEGATED_WEIGHT,
    ) -> tuple[
        builtins.list[_rank.Candidate],
        set[str],
        dict[str, dict[str, float]],
        Literal["semantic", "keyword"],
    ]:
        """The candidates for ``task`` and each one's parts of the score, by part (in
        `_rank.score`'s argument order) and name; also the capabilities the task wants and
        the method. The tuning in ``bench/bench_retrieval.py`` scores these same parts (and
        picks ``negated_weight``, `_ranking.NEGATED_WEIGHT`, with them)."""
        everyone, _ = self._candidates(include_stale)
        candidates = [c for c in everyone if required <= c.capabilities]
        vocabulary = {cap for c in candidates for cap in c.capabilities}
        wanted = _rank.named_capabilities(task, vocabulary) | required
        method: Literal["semantic", "keyword"]
        history = self._read_history()
        if self.semantic and everyone:
            # Generic descriptions are judged against every available agent, not only the
            # ones a ``require`` leaves, so the filter does not change anyone's score.
            similarity, aligned, central, query = self._meaning(task, everyone, negated_weight)
            past = history.semantic(query)
            method = "semantic"
        else:
            similarity = {c.name: _rank.keyword_score(task, c.text) for c in candidates}
            aligned = central = dict.fromkeys(similarity, 0.0)
            past = history.keyword(task)
            method = "keyword"
        # Only the outcomes of available agents vote: a stale agent's history says where
        # such tasks went, not which of the live agents should take them.
        index = {c.name: i for i, c in enumerate(everyone)}
        mine = [j for j, n in enumerate(past[0]) if n in index]
        votes = _ranking.outcome_evidence(
            past[1][mine],
            np.array([index[past[0][j]] for j in mine], dtype=np.int64),
            past[2][mine],
            len(everyone),
        )
        parts = {
            "similarity": similarity,
            "alignment": aligned,
            "centrality": central,
            "capability": {
                c.name: len(c.capabilities & wanted) / len(wanted) if wanted else 0.0
                for c in candidates
            },
            "trust": {c.name: c.trust for c in candidates},
            "outcome": {c.name: float(votes[index[c.name]]) for c in candidates},
        }
        return candidates, wanted, parts, method

    def _unembedded(
        self, everyone: builtins.list[_rank.Candidate]
    ) -> builtins.list[_rank.Candidate]:
        """The agents whose current text `_meaning` has not embedded yet."""
        known = self._meanings
        return [c for c in everyone if c.name not in known or known[c.name][0] != c.text]

    def _meaning(
        self,
        task: str,
        everyone: builtins.list[_rank.Candidate],
        negated_weight: float = _ranking.NEGATED_WEIGHT,
    ) -> tuple[dict[str, float], dict[str, float], dict[str, float], np.ndarray]:
        """Cosine (clipped to [0, 1]) of the task and each agent's description, how near the
        task's words are to the description's words, and each agent's centrality among the
        agents' whole texts, from the store's embedder; and the task's unit vector.

        The description is what an agent does: its name and capability list repeat keywords
        the capability part already counts, and in a whole-text vector they pull every task
        that shares one of them (an agent without a description is represented by its whole
        text). Every agent is scored exactly: the agents' vectors are kept here per text
        (embedded again only when a profile's text changes), the task is embedded once with
        its words, and no index page can leave anyone out."""
        assert self.store is not None and self.store.index_spec is not None
        spec = self.store.index_spec
        known = self._meanings
        missing = self._unembedded(everyone)
        if missing:
            about = [_rank.about(c) for c in missing]
            word_lists = [_rank.content_words(a) for a in about]
            flat = [c.text for c in missing] + about + [w for ws in word_lists for w in ws]
            vectors = normalize(embed_texts(spec.embeddings, flat, spec.dims))
            # Copy on write: routes in other threads keep reading the dict they hold.
            live = {c.name for c in everyone}
            keep = len(known) <= 2 * len(everyone) + 16  # else forget retired agents
            known = {n: v for n, v in known.items() if keep or n in live}
            n = len(missing)
            at = 2 * n
            for i, (c, ws) in enumerate(zip(missing, word_lists, strict=True)):
                stems = frozenset(_rank.stem(w) for w in _rank.content_words(c.text))
                words = vectors[at : at + len(ws)]
                known[c.name] = (c.text, vectors[i], stems, vectors[n + i], words)
                at += len(ws)
            self._meanings = known
        entries = [known[c.name] for c in everyone]
        task_words, discount = _ranking.clause_words(task, negated_weight)
        query = normalize(embed_texts(spec.embeddings, [task, *task_words], spec.dims))
        texts = np.stack([e[1] for e in entries])
        frequency = Counter(s for e in entries for s in e[2])
        idf = np.array(
            [_rank.idf(w, frequency, len(entries)) for w in task_words], dtype=np.float32
        )
        cosine = np.clip(np.stack([e[3] for e in entries]) @ query[0], 0.0, 1.0)
        aligned = _rank.alignment(
            query[1:], idf, [e[4] for e in entries], np.array(discount, dtype=np.float32)
        )
        central = _rank.centrality(texts)
        names = [c.name for c in everyone]
        return (
            dict(zip(names, cosine.tolist(), strict=True)),
            dict(zip(names, aligned.tolist(), strict=True)),
            dict(zip(names, central.tolist(), strict=True)),
            query[0],
        )

    def _read_history(self) -> _History:
        """The outcomes recorded so far (this process keeps them, reading only new rows)."""
        history = self._history
        with self.db.read() as conn:
            rows = conn.execute(_schema.OUTCOMES_AFTER, (history.last,)).fetchall()
        if rows:
            # Copy on write: routes in other threads keep reading the one they hold.
            history = self._history = history.extend(rows)
        return history

    def _track_records(self, names: builtins.list[str]) -> dict[str, int]:
        """How many facts each of ``names`` backs with a verified value (ties in routing)."""
        with self.db.read() as conn:
            return fact_queries.track_records(conn, names)

    def _semantic(self, query: str, limit: int) -> dict[str, float]:
        """Cosine (clipped to [0, 1]) of the ``limit`` best agents in the store, in its order."""
        assert self.store is not None
        items = self.store.search(_schema.NAMESPACE, query=query, limit=limit)
        return {i.key: min(1.0, max(0.0, i.score or 0.0)) for i in items}

    def who_knows(
        self, subject: str, *, scope: Any = None, attribute: str | None = None
    ) -> builtins.list[Expert]:
        """Agents that back verified facts about ``subject`` (authors of the sources of the
        verified claims), most facts first. Reads the fact ledger's tables, read-only;
        ``scope`` and ``attribute`` narrow it. Not access-checked: it names authors and
        attributes, never values."""
        check_name("subject", subject)
        scope_key = None if scope is None else _scope_key(scope)
        if attribute is not None:
            check_name("attribute", attribute)
        self.setup()
        with self.db.read() as conn:
            rows = fact_queries.who_knows(conn, subject, scope=scope_key, attribute=attribute)
            # The profiles of all authors in one query, not one per author.
            ids = [author for author, *_ in rows if _is_id(author)]
            found = self._select(conn, _schema.WHERE_NAMES, names=json.dumps(ids)) if ids else []
        profiles = {p.name: p for p in found}
        return [
            Expert(
                agent=author,
                facts=count,
                attributes=tuple(sorted(attributes)),
                last_at=last,
                profile=profiles.get(author),
            )
            for author, count, attributes, last in rows
        ]

    def _candidates(self, include_stale: bool) -> tuple[builtins.list[_rank.Candidate], int]:
        """Available agents (stale ones too if asked), and how many agents the store holds."""
        self.setup()
        with self.db.read() as conn:
            rows = conn.execute(_schema.CANDIDATES, self._params()).fetchall()
        found = []
        parsed = self._capabilities
        for name, updated_at, caps, trust, text, description, acl_retired, stale in rows:
            if acl_retired or (stale and not include_stale):
                continue
            known = parsed.get(name)
            if known is None or known[0] != updated_at:  # parse a profile once per change
                known = parsed[name] = (updated_at, frozenset(_loads(caps)))
            found.append(
                _rank.Candidate(name, known[1], trust, text, bool(stale), description or "")
            )
        return found, len(rows)

    def _profiles(self, names: builtins.list[str]) -> dict[str, AgentProfile]:
        if not names:
            return {}
        with self.db.read() as conn:
            found = self._select(conn, _schema.WHERE_NAMES, names=json.dumps(names))
        return {p.name: p for p in found}

    def _params(self, **extra: Any) -> dict[str, Any]:
        return {"now": time.time(), "stale_after": self.stale_after, **extra}

    def _select(
        self, conn: sqlite3.Connection, where: str, **extra: Any
    ) -> builtins.list[AgentProfile]:
        rows = conn.execute(
            f"{_schema.SELECT_AGENTS} {where} {_schema.ORDER}", self._params(**extra)
        ).fetchall()
        return [profile_from_row(r) for r in rows]

    def _profile(
        self, conn: sqlite3.Connection, name: str, *, now: float | None = None
    ) -> AgentProfile | None:
        params = self._params(name=name)
        if now is not None:
            params["now"] = now
        row = conn.execute(_schema.SELECT_AGENTS + _schema.WHERE_NAME, params).fetchone()
        return None if row is None else profile_from_row(row)

    # -- async -----------------------------------------------------------------------------

    async def asetup(self) -> None:
        """Async `setup`."""
        await self.db.run(self.setup)

    # A remote embedder is awaited in the twins that embed, before the sync code runs on the
    # database's worker: its round trips would otherwise hold up every other async call.

    async def aregister(self, name: str, **profile: Any) -> AgentProfile:
        """Async `register`."""
        row = check_profile(name, {**_DEFAULTS, **profile})
        async with self._texts_ahead([row]):
            return await self.db.run(self.register, name, **profile)

    async def aupdate(self, name: str, **fields: Any) -> AgentProfile:
        """Async `update`."""
        current = await self.aget(name)
        rows = []
        if current is not None and not set(fields) - set(_DEFAULTS):
            rows.append(check_profile(name, {k: getattr(current, k) for k in _DEFAULTS} | fields))
        async with self._texts_ahead(rows):
            return await self.db.run(self.update, name, **fields)

    def _texts_ahead(self, rows: Sequence[Mapping[str, Any]]) -> Any:
        if self.store is None:
            return embedding_ahead(None)
        return self.store.embedding_ahead([(_text_value(row), ["text"]) for row in rows])

    async def aheartbeat(self, name: str) -> float:
        """Async `heartbeat`."""
        return await self.db.run(self.heartbeat, name)

    async def aretire(self, name: str) -> bool:
        """Async `retire`."""
        return await self.db.run(self.retire, name)

    async def aget(self, name: str) -> AgentProfile | None:
        """Async `get`."""
        return await self.db.run(self.get, name)

    async def aagents(self, **options: Any) -> builtins.list[AgentProfile]:
        """Async `agents`."""
        return await self.db.run(self.agents, **options)

    async def astale(self) -> builtins.list[AgentProfile]:
        """Async `stale`."""
        return await self.db.run(self.stale)

    async def afind(self, capability: str, **options: Any) -> builtins.list[AgentProfile]:
        """Async `find`."""
        return await self.db.run(self.find, capability, **options)

    async def asearch(self, query: str, **options: Any) -> builtins.list[AgentMatch]:
        """Async `search`."""
        store = self.store if self.semantic and isinstance(query, str) else None
        async with store.embedding_ahead(queries=[query]) if store else embedding_ahead(None):
            return await self.db.run(self.search, query, **options)

    async def aroute(self, task: str, **options: Any) -> builtins.list[Route]:
        """Async `route`."""
        texts: builtins.list[str] = []
        spec = None if self.store is None else self.store.index_spec
        if spec is not None and isinstance(task, str):  # else route's own check says why
            # What `_meaning` embeds, so that it finds every vector ready.
            texts = [task, *_ranking.clause_words(task, _ranking.NEGATED_WEIGHT)[0]]
            candidates, _ = await self.db.run(self._candidates, True)
            for c in self._unembedded(candidates):
                about = _rank.about(c)
                texts += [c.text, about, *_rank.content_words(about)]
        async with embedding_ahead(None if spec is None else spec.embeddings, texts):
            return await self.db.run(self.route, task, **options)

    async def arecord_outcome(self, agent: str, task: str, *, ok: bool = True) -> int:
        """Async `record_outcome`."""
        spec = None if self.store is None else self.store.index_spec
        texts = [task] if spec is not None and isinstance(task, str) else []
        async with embedding_ahead(None if spec is None else spec.embeddings, texts):
            return await self.db.run(self.record_outcome, agent, task, ok=ok)

    async def awho_knows(self, subject: str, **options: Any) -> builtins.list[Expert]:
        """Async `who_knows`."""
        return await self.db.run(self.who_knows, subject, **options)

    # -- lifecycle -------------------------------------------------------------------------

    def _release(self) -> None:
        """Close the parts this registry made (its store, access control), newest first;
        `close` then closes the database if the registry opened it."""
        while self._owned:
            self._owned.pop().close()

    def __repr__(self) -> str:
        return f"Registry({self.db.path!r})"


class _History:
    """Recorded outcomes, in id order: who handled each task, the task, whether it went
    well, and its unit vector (None: recorded with the index off, or by another embedder's
    size). Immutable: `extend` returns a new one."""

    def __init__(
        self,
        last: int = 0,
        names: tuple[str, ...] = (),
        tasks: tuple[str, ...] = (),
        ok: tuple[bool, ...] = (),
        vectors: tuple[np.ndarray | None, ...] = (),
    ) -> None:
        self.last, self.names, self.tasks, self.ok, self.vectors = last, names, tasks, ok, vectors
        self._matrix: tuple[int, np.ndarray, list[int]] | None = None

    def extend(self, rows: Sequence[tuple[Any, ...]]) -> _History:
        vectors = [
            None if blob is None else np.frombuffer(blob, dtype=np.float32)
            for _, _, _, _, blob, _ in rows
        ]
        return _History(
            rows[-1][0],
            self.names + tuple(r[1] for r in rows),
            self.tasks + tuple(r[2] for r in rows),
            self.ok + tuple(bool(r[3]) for r in rows),
            self.vectors + tuple(vectors),
        )

    def semantic(self, query: np.ndarray) -> tuple[builtins.list[str], np.ndarray, np.ndarray]:
        """(names, cosine to ``query``, ok) of the outcomes with a vector of its size."""
        dims = len(query)
        if self._matrix is None or self._matrix[0] != dims:
            rows = [j for j, v in enumerate(self.vectors) if v is not None and len(v) == dims]
            matrix = (
                np.stack([self.vectors[j] for j in rows])  # type: ignore[misc]
                if rows
                else np.zeros((0, dims), dtype=np.float32)
            )
            self._matrix = (dims, matrix, rows)
        _, matrix, rows = self._matrix
        return (
            [self.names[j] for j in rows],
            (matrix @ query).astype(np.float64),
            np.array([self.ok[j] for j in rows], dtype=bool),
        )

    def keyword(self, task: str) -> tuple[builtins.list[str], np.ndarray, np.ndarray]:
        """(names, keyword score of each past task for ``task``, ok), every outcome."""
        return (
            list(self.names),
            np.array([_rank.keyword_score(task, t) for t in self.tasks], dtype=np.float64),
            np.array(self.ok, dtype=bool),
        )


def _text_value(row: Mapping[str, Any]) -> dict[str, Any]:
    """The store item holding an agent's indexed text."""
    return {"text": row["text"], "name": row["name"], "capabilities": _loads(row["capabilities"])}


def _backend(db: Any) -> Any:
    """The backend under a part's view of it (PostgreSQL parts each see it their way)."""
    return getattr(db, "inner", db)


def _unknown(name: str) -> InvalidConfigError:
    return InvalidConfigError(f"unknown agent {name!r}: register it first (registry.register)")


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidConfigError(f"k must be an int >= 1, got {k!r}")
    return k


def _scope_key(scope: Any) -> str:
    try:
        return Scope.of(scope).key
    except InvalidConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise InvalidConfigError(f"scope {scope!r} is not a scope: {exc}") from exc


def _is_id(author: str) -> bool:
    try:
        check_id("agent name", author)
    except InvalidConfigError:
        return False
    return True


def _loads(text: str) -> Any:
    return json.loads(text)

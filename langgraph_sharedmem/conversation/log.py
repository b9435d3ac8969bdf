"""`ConversationLog`: the orchestrator's and agents' messages, persisted, sliced per agent.

    from langgraph_sharedmem import SharedMemory

    with SharedMemory.open("agents.db") as mem:
        log = mem.conversation
        log.append(HumanMessage("Plan a trip to Oslo"), run="r7", sender="user")
        log.append(AIMessage("Flights?"), run="r7", sender="planner", recipients=["research"])
        log.context("r7", "research", last=10)              # what research may see, last 10
        log.context("r7", "writer", max_tokens=2000, query="hotel budget", k=4,
                    summarize_older=True)                    # summary + relevant + recent

Agents get slices, not transcripts: the last N messages, the newest that fit a token budget,
the most relevant to a query (exact cosine over embeddings kept beside the messages), a
summary of the rest (pluggable summarizer, cached), and only what the agent may see
(visibility, and with `AccessControl` the scopes it may read). Histories page by ``seq``
(keyset pagination), so thousands of messages are never loaded at once. Every append is in
the change log (``kind="message"``). Rules: ``docs/conversation.md``.
"""

from __future__ import annotations

import builtins
import heapq
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, Literal, cast

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig

from langgraph_sharedmem.agents import AccessControl, AuditLog
from langgraph_sharedmem.conversation import _flows, _model, _reads, _schema, _select
from langgraph_sharedmem.conversation._model import (
    MessagePage,
    StoredMessage,
    TokenCounter,
    Visibility,
    approximate_tokens,
)
from langgraph_sharedmem.conversation._summary import Adapted, as_summarizer
from langgraph_sharedmem.core import changelog
from langgraph_sharedmem.core.part import DatabasePart
from langgraph_sharedmem.core.values import Scope, check_id, check_name
from langgraph_sharedmem.errors import AccessDenied, InvalidConfigError
from langgraph_sharedmem.store.embedding import embedded_ahead, embedding_ahead

__all__ = ["ConversationLog"]

_MAX_LIMIT: Final = 10_000
_WORDS_KEPT: Final = 20_000  # word vectors a log keeps for budgeted slices (~20 MB at most)
_PLAIN: Final = (
    " AND m.type != 'tool' AND coalesce(json_array_length(m.message, '$.data.tool_calls'), 0) = 0"
)


class ConversationLog(DatabasePart):
    """The shared conversation history of a database (see the module docstring).

    Args:
        conn: A path, ``":memory:"``, a ``postgresql://`` URL or an open database (shared
            with a `SharedMemory`).
        access: Agents' grants; given, a ``viewer`` must be a registered, active agent, and
            messages appended with ``scope=`` reach only viewers that may read that scope.
        embeddings: For `relevant`: ``"default"`` (the offline WordLlama model), any LangChain
            ``Embeddings``, or None (no embeddings kept; `relevant` is then refused).
        token_counter: Tokens of one message, counted once at append (default: LangChain's
            approximate counter, about four characters a token).
        summarizer: ``(messages, previous_summary) -> str`` or a chat model; `summary` and
            ``context(summarize_older=True)`` use it. Summaries are cached in the database.
    """

    migrations = _schema.MIGRATIONS
    copy_tables = _schema.COPY_TABLES
    requires = (changelog.MIGRATIONS,)
    pg_schemas = (
        "langgraph_sharedmem.core.changelog_pg",
        "langgraph_sharedmem.conversation._schema_pg",
    )
    db: Any  # SQLite's `Database`, or PostgreSQL seen as SQLite (`_on_postgres`)

    def __init__(
        self,
        conn: Any,
        *,
        access: AccessControl | None = None,
        embeddings: Embeddings | Literal["default"] | None = "default",
        token_counter: TokenCounter | None = None,
        summarizer: Any = None,
    ) -> None:
        if access is not None and not isinstance(access, AccessControl):
            raise InvalidConfigError(f"access must be an AccessControl, got {access!r}")
        if embeddings not in (None, "default") and not isinstance(embeddings, Embeddings):
            raise InvalidConfigError(
                f"embeddings must be a LangChain Embeddings, 'default' or None, got {embeddings!r}"
            )
        if token_counter is not None and not callable(token_counter):
            raise InvalidConfigError(f"token_counter must be callable, got {token_counter!r}")
        self._open_database(conn)
        if access is not None and getattr(access.db, "inner", access.db) is not getattr(
            self.db, "inner", self.db
        ):
            raise InvalidConfigError("access must be on the same Database as the log")
        self.access = access
        self._embeddings_option = embeddings
        self._embedder: Embeddings | None = None
        self.token_counter: TokenCounter = token_counter or approximate_tokens
        self.summarizer: Adapted | None = as_summarizer(summarizer)
        self.slice_weights: _select.SliceWeights = _select.DEFAULT_WEIGHTS
        """How a budgeted `context` scores older messages (the tuned defaults)."""
        self._words: dict[str, np.ndarray] = {}  # word -> unit vector (`_word_vectors`)

    def _on_postgres(self, db: Any) -> Any:
        """The log's SQLite logic on PostgreSQL (`conversation._schema_pg`): appends serialize
        on one advisory lock, so messages commit in ``seq`` order on every host."""
        from langgraph_sharedmem.conversation import _schema_pg
        from langgraph_sharedmem.core.pg_compat import SerializedDatabase

        return SerializedDatabase(
            db, _schema_pg.CONVERSATION_LOCK, _schema_pg.ID_TABLES, _schema_pg.OVERRIDES
        )

    # -- embeddings ------------------------------------------------------------------------

    @property
    def embeddings(self) -> Embeddings | None:
        if self._embedder is None and self._embeddings_option is not None:
            if self._embeddings_option == "default":
                from langgraph_sharedmem.store import WordLlamaEmbeddings

                self._embedder = WordLlamaEmbeddings()
            else:
                self._embedder = self._embeddings_option  # type: ignore[assignment]
        return self._embedder

    @property
    def _remote_embeddings(self) -> Embeddings | None:
        """The embedder if it is not the local offline one (whose calls take microseconds)."""
        emb = self.embeddings
        return None if emb is None or hasattr(emb, "embed_array") else emb

    def _texts_to_embed(self, messages: Sequence[BaseMessage]) -> builtins.list[str]:
        if self._remote_embeddings is None:
            return []
        return [_model.text_of(m) for m in messages]

    @property
    def _model_name(self) -> str:
        emb = self.embeddings
        return f"{type(emb).__module__}.{type(emb).__qualname__}:{getattr(emb, 'dims', '')}"

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        emb = self.embeddings
        if emb is None or not texts:
            return np.zeros((0, 0), dtype=np.float32)
        embed_array = getattr(emb, "embed_array", None)
        if embed_array is not None:  # the default model: numpy straight through
            out = np.asarray(embed_array(list(texts)), dtype=np.float32)
        elif (ahead := embedded_ahead(emb, texts)) is not None:  # by an async twin
            out = ahead
        else:
            out = np.asarray(emb.embed_documents(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.ascontiguousarray(out / norms, dtype=np.float32)

    def _word_vectors(self, words: builtins.list[str]) -> np.ndarray:
        """Unit vectors of single ``words`` (the local model's, kept: a conversation repeats
        its words), for the word alignment of a budgeted slice."""
        known = self._words
        missing = [w for w in words if w not in known]
        if missing:
            if len(known) + len(missing) > _WORDS_KEPT:
                known = self._words = {}  # start over; a reader keeps the dict it holds
            known.update(zip(missing, self._vectors(missing), strict=True))
        return np.stack([known[w] for w in words])

    # -- appending -------------------------------------------------------------------------

    def append(
        self,
        message: BaseMessage,
        *,
        run: str,
        sender: str,
        thread: str | None = None,
        recipients: Sequence[str] = (),
        visibility: Visibility | None = None,
        scope: Any = None,
    ) -> StoredMessage:
        """Store one message said in ``run`` by ``sender``.

        ``visibility``: ``"public"`` (every agent of the run; the default without
        recipients), ``"recipients"`` (``sender`` and ``recipients``; the default with them)
        or ``"private"`` (``sender`` only). ``scope`` (e.g. ``("user", "u1")``) additionally
        limits it to agents that may read that scope. A message whose ``id`` is already
        stored in the run is not stored twice: the stored one is returned (a different
        message under the same id is refused).
        """
        return self.extend(
            [message],
            run=run,
            sender=sender,
            thread=thread,
            recipients=recipients,
            visibility=visibility,
            scope=scope,
        )[0]

    def extend(
        self,
        messages: Iterable[BaseMessage],
        *,
        run: str,
        sender: str | Callable[[BaseMessage], str] | None = None,
        thread: str | None = None,
        recipients: Sequence[str] = (),
        visibility: Visibility | None = None,
        scope: Any = None,
    ) -> builtins.list[StoredMessage]:
        """Store several messages in one transaction (see `append`). ``sender`` may be a
        function of the message; None takes the message's ``name``, else ``"user"`` for
        human messages and the message type otherwise."""
        rows = self._prepare(messages, run, sender, thread, recipients, visibility, scope)
        vectors = self._vectors([r[9] for r in rows])
        self.setup()
        return self._insert(rows, vectors)

    def _prepare(
        self,
        messages: Iterable[BaseMessage],
        run: str,
        sender: Any,
        thread: str | None,
        recipients: Sequence[str],
        visibility: Any,
        scope: Any,
    ) -> builtins.list[tuple[Any, ...]]:
        check_id("run id", run)
        if thread is not None:
            check_name("thread id", thread)
        who = _model.check_recipients(recipients)
        seen = _model.check_visibility(visibility, who)
        who_json = json.dumps(who, ensure_ascii=False)  # the same for every message
        where = None if scope is None else Scope.of(scope).key
        now = time.time()
        rows = []
        for message in messages:
            kind, data, text = _model.encode(message)
            # ``text`` only feeds relevance and summaries (the message is rebuilt from
            # ``data``, where JSON escapes it): a NUL means nothing there, and PostgreSQL's
            # text cannot hold one.
            text = text.replace("\x00", "")
            author = _sender_of(message, sender)
            tokens = self.token_counter(message)
            if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
                raise InvalidConfigError(
                    f"token_counter returned {tokens!r}; it must return an int >= 0"
                )
            rows.append(
                (
                    run,
                    thread,
                    message.id,
                    author,
                    who_json,
                    seen,
                    where,
                    kind,
                    data,
                    text,
                    tokens,
                    len(data.encode("utf-8")),
                    now,
                    message,  # not stored: handed back in the StoredMessage
                )
            )
        return rows

    def _insert(
        self, rows: builtins.list[tuple[Any, ...]], vectors: np.ndarray
    ) -> builtins.list[StoredMessage]:
        out: builtins.list[StoredMessage] = []
        model = self._model_name if len(vectors) else None
        if self.access is not None:
            self.access.setup()
        with self.db.write() as conn:
            if self.access is not None and rows:  # a closed run: posts from members only
                for author in sorted({r[3] for r in rows}):
                    self.access._check_run_sender(conn, rows[0][0], author)
            ids = [r[2] for r in rows if r[2] is not None]
            known: dict[str, tuple[Any, ...]] = {}
            if ids:
                found = conn.execute(_schema.SELECT_BY_IDS, (rows[0][0], json.dumps(ids)))
                known = {row[-1]: row for row in found}
            for i, row in enumerate(rows):
                if row[2] is not None and row[2] in known:
                    existing = known[row[2]]
                    if json.loads(existing[7]) != json.loads(row[8]):
                        raise InvalidConfigError(
                            f"message id {row[2]!r} is already stored in run {row[0]!r} with "
                            "different content; give the new message its own id"
                        )
                    out.append(_model.stored_from_row(existing))
                    continue
                seq = int(conn.execute(_schema.INSERT_MESSAGE, row[:13]).lastrowid or 0)
                if model is not None:
                    conn.execute(_schema.INSERT_EMBEDDING, (seq, model, vectors[i].tobytes()))
                run, thread, msg_id, author, who, seen, where = row[:7]
                recipients = json.loads(who)
                changelog.record(
                    conn,
                    kind="message",
                    op="append",
                    key=f"{run}/{seq}",
                    scope=where or Scope.run(run).key,
                    author=author,
                    data={
                        "run": run,
                        "thread": thread,
                        "seq": seq,
                        "id": msg_id,
                        "type": row[7],
                        "visibility": seen,
                        "recipients": recipients,
                    },
                )
                out.append(
                    StoredMessage(
                        seq=seq,
                        run=run,
                        thread=thread,
                        sender=author,
                        recipients=tuple(recipients),
                        visibility=seen,
                        scope=where,
                        created_at=row[12],
                        tokens=row[10],
                        bytes=row[11],
                        message=row[13],
                    )
                )
                if msg_id is not None:  # the same id twice in one batch
                    known[msg_id] = (seq, *row[:2], author, who, seen, where, row[8], *row[10:13])
        return out

    # -- who may see what ------------------------------------------------------------------

    def _view(
        self, run: str, viewer: str | None, user: str | None, thread: str | None
    ) -> _reads.View:
        check_id("run id", run)
        if thread is not None:
            check_name("thread id", thread)
        self.setup()
        if viewer is None or self.access is None:
            if viewer is not None:
                check_name("viewer", viewer)
            return _reads.View(run, thread, viewer, user, None)
        access = self.access
        access.check_principals(viewer, user)  # registered and not retired
        view = _reads.View(run, thread, viewer, user, access)
        try:
            with self.db.read() as conn:
                view.resolve(conn)
        except AccessDenied:
            access.audit_log.deny(
                AuditLog.row(viewer, user, run, "history", f"run:{run}", None, "denied")
            )
            raise
        access.audit_log.read(AuditLog.row(viewer, user, run, "history", f"run:{run}", None))
        # Every read transaction after this resolves the rights again (`View.resolve`):
        # what it fetches is filtered by what the viewer may read at its own snapshot.
        return view

    # -- reading ---------------------------------------------------------------------------

    def page(
        self,
        run: str,
        *,
        viewer: str | None = None,
        user: str | None = None,
        thread: str | None = None,
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> MessagePage:
        """One page of what ``viewer`` (None: everything) may see of ``run``, by ``seq``:
        oldest first from ``after``, or newest first from ``before``. Pass ``next_cursor``
        back as ``after`` (or ``before``) for the next page."""
        _model.check_count("limit", limit, minimum=1)
        if limit > _MAX_LIMIT:
            raise InvalidConfigError(f"limit is at most {_MAX_LIMIT}, got {limit}")
        for name, cursor in (("after", after), ("before", before)):
            if cursor is not None:
                _model.check_count(name, cursor)
        view = self._view(run, viewer, user, thread)
        with self.db.read() as conn:
            return _reads.page(conn, view.resolve(conn), after, before, limit, newest_first)

    def iter_messages(
        self,
        run: str,
        *,
        viewer: str | None = None,
        user: str | None = None,
        thread: str | None = None,
        page_size: int = 500,
    ) -> Iterator[StoredMessage]:
        """Every message ``viewer`` may see, oldest first, fetched a page at a time."""
        cursor: int | None = None
        while True:
            page = self.page(
                run, viewer=viewer, user=user, thread=thread, after=cursor, limit=page_size
            )
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def messages(
        self,
        run: str,
        *,
        viewer: str | None = None,
        user: str | None = None,
        thread: str | None = None,
    ) -> builtins.list[BaseMessage]:
        """The whole transcript ``viewer`` may see (what passing whole histories sends)."""
        return [m.message for m in self.iter_messages(run, viewer=viewer, user=user, thread=thread)]

    def last(
        self,
        run: str,
        n: int,
        *,
        viewer: str | None = None,
        user: str | None = None,
        thread: str | None = None,
    ) -> builtins.list[BaseMessage]:
        """The last ``n`` messages ``viewer`` may see, oldest first."""
        _model.check_count("n", n)
        view = self._view(run, viewer, user, thread)
        with self.db.read() as conn:
            return [m.message for m in _reads.tail(conn, view.resolve(conn), n, None)]

    def within_tokens(
        self,
        run: str,
        max_tokens: int,
        *,
        viewer: str | None = None,
        user: str | None = None,
        thread: str | None = None,
    ) -> builtins.list[BaseMessage]:
        """The newest messages ``viewer`` may see whose tokens add up to at most
        ``max_tokens``, oldest first (counted at append by the log's token counter)."""
        _model.check_count("max_tokens", max_tokens)
        view = self._view(run, viewer, user, thread)
        with self.db.read() as conn:
            return [m.message for m in _reads.tail(conn, view.resolve(conn), None, max_tokens)]

    def relevant(
        self,
        run: str,
        query: str,
        k: int = 8,
        *,
        viewer: str | None = None,
        user: str | None = None,
        thread: str | None = None,
        before: int | None = None,
    ) -> builtins.list[BaseMessage]:
        """The ``k`` messages ``viewer`` may see closest to ``query`` (exact cosine over the
        stored embeddings), oldest first; ``before`` keeps to messages older than that seq."""
        return [m.message for m in self._relevant(run, query, k, viewer, user, thread, before)]

    def _relevant(
        self,
        run: str,
        query: str,
        k: int,
        viewer: str | None,
        user: str | None,
        thread: str | None,
        before: int | None,
        plain: bool = False,
    ) -> builtins.list[StoredMessage]:
        _model.check_text("query", query)
        _model.check_count("k", k)
        if self.embeddings is None:
            raise InvalidConfigError(
                "this conversation log keeps no embeddings (embeddings=None); open it with "
                "embeddings='default' or a LangChain Embeddings to rank by relevance"
            )
        view = self._view(run, viewer, user, thread)
        if k == 0:
            return []
        q = self._vectors([query])[0]
        model = self._model_name
        best: builtins.list[tuple[float, int]] = []  # a min-heap of (score, seq)
        cursor: int | None = None
        while True:
            with self.db.read() as conn:
                where, params = view.resolve(conn).where(after=cursor, before=before)
                rows = conn.execute(
                    "SELECT m.seq, e.model, e.vector FROM conv_messages m LEFT JOIN "
                    f"conv_embeddings e ON e.seq = m.seq{where}{_PLAIN if plain else ''} "
                    "ORDER BY m.seq LIMIT ?",
                    (*params, _reads.SCAN * 16),
                ).fetchall()
            if not rows:
                break
            if any(r[1] != model for r in rows):  # another model's, or appended without
                self._embed_again([r[0] for r in rows if r[1] != model], model)
                with self.db.read() as conn:
                    rows = conn.execute(
                        "SELECT e.seq, e.model, e.vector FROM conv_embeddings e WHERE e.seq IN "
                        "(SELECT value FROM json_each(?)) ORDER BY e.seq",
                        (json.dumps([r[0] for r in rows]),),
                    ).fetchall()
            matrix = np.frombuffer(b"".join(r[2] for r in rows), np.float32)
            matrix = matrix.reshape(len(rows), -1)
            scores = matrix @ q
            for score, row in zip(scores.tolist(), rows, strict=True):
                item = (score, -row[0])  # ties: the newer message wins
                if len(best) < k:
                    heapq.heappush(best, item)
                elif item > best[0]:
                    heapq.heapreplace(best, item)
            cursor = rows[-1][0]
        seqs = sorted(-s for _, s in best)
        if not seqs:
            return []
        with self.db.read() as conn:  # under the rights of now, not of the scan's pages
            where, params = view.resolve(conn).where()
            found = conn.execute(
                f"SELECT {_schema.COLUMNS} FROM conv_messages m{where} AND m.seq IN "
                "(SELECT value FROM json_each(?)) ORDER BY m.seq",
                (*params, json.dumps(seqs)),
            ).fetchall()
        return [_model.stored_from_row(r) for r in found]

    def _embed_again(self, seqs: builtins.list[int], model: str) -> None:
        with self.db.read() as conn:
            texts = conn.execute(
                "SELECT seq, text FROM conv_messages WHERE seq IN (SELECT value FROM json_each(?))",
                (json.dumps(seqs),),
            ).fetchall()
        fresh = self._vectors([t for _, t in texts])
        with self.db.write() as conn:
            conn.executemany(
                _schema.INSERT_EMBEDDING,
                [(seq, model, fresh[j].tobytes()) for j, (seq, _) in enumerate(texts)],
            )

    def _older_vectors(
        self, view: _reads.View, before: int | None
    ) -> tuple[builtins.list[tuple[int, int, str]], np.ndarray]:
        """The viewer's plain messages older than ``before`` as ``(seq, tokens, text)`` and
        their unit vectors (embedded now if stored without this model's; none without an
        embedder)."""
        model = self._model_name if self.embeddings is not None else None
        found: builtins.list[tuple[int, int, str]] = []
        vectors: builtins.list[np.ndarray] = []
        cursor: int | None = None
        while rows := _reads.older(self.db, view, before, _PLAIN, cursor):
            missing = [r[0] for r in rows if r[3] != model] if model is not None else []
            fresh: dict[int, bytes] = {}
            if missing:
                assert model is not None  # `missing` is empty without a model
                self._embed_again(missing, model)
                with self.db.read() as conn:
                    fresh = dict(
                        conn.execute(
                            "SELECT seq, vector FROM conv_embeddings WHERE seq IN "
                            "(SELECT value FROM json_each(?))",
                            (json.dumps(missing),),
                        ).fetchall()
                    )
            for seq, tokens, text, stored_model, vector in rows:
                found.append((seq, tokens, text))
                if model is not None:
                    raw = vector if stored_model == model else fresh[seq]
                    vectors.append(np.frombuffer(cast(bytes, raw), np.float32))
            cursor = rows[-1][0]
        matrix = np.stack(vectors) if vectors else np.zeros((len(found), 0), np.float32)
        return found, matrix

    def _stored_vector(self, seq: int, text: str) -> np.ndarray:
        model = self._model_name
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT vector FROM conv_embeddings WHERE seq = ? AND model = ?", (seq, model)
            ).fetchone()
        if row is not None:
            return np.frombuffer(row[0], np.float32)
        return self._vectors([text])[0]

    def _slice_inputs(
        self,
        view: _reads.View,
        window: builtins.list[StoredMessage],
        query: str | None,
        instruction: str | None,
        role: str | None,
    ) -> _select.Candidates | None:
        """What a budgeted slice chooses from: the viewer's plain messages older than the
        window, their vectors and entity evidence, and the query vectors (None: no older
        message). Without an embedder, only the entity and keyword evidence score."""
        found, matrix = self._older_vectors(view, window[0].seq if window else None)
        if not found:
            return None
        recent_texts = [_model.text_of(m.message) for m in window]
        asked = {"instruction": instruction, "task": query, "role": role}
        given = {k: v for k, v in asked.items() if v and self.embeddings is not None}
        vecs = self._vectors(list(given.values())) if given else np.zeros((0, 0))
        queries = {k: vecs[i] for i, k in enumerate(given)}
        if instruction is None and window:  # the newest message, by its stored vector
            instruction = recent_texts[-1]
            if self.embeddings is not None:
                queries["instruction"] = self._stored_vector(window[-1].seq, instruction)
        # Words are embedded one by one: only the local model does that in microseconds (a
        # remote one is left its whole-message cosine to the instruction).
        local = self.embeddings is not None and self._remote_embeddings is None
        return _select.Candidates.build(
            found,
            matrix,
            queries,
            recent_texts,
            instruction or "",
            query,
            self._word_vectors if local else None,
        )

    def _budget_pick(
        self,
        view: _reads.View,
        window: builtins.list[StoredMessage],
        left: int,
        query: str | None,
        instruction: str | None,
        role: str | None,
        digest: bool,
        weights: _select.SliceWeights,
    ) -> tuple[builtins.list[StoredMessage], builtins.list[str]]:
        """The older messages worth ``left`` tokens to ``view`` (see `_select`), and, with
        ``digest``, the sentences of the others that mention what the recent turns do.
        Both under the viewer's rights at the last read (`_reads.still_readable`)."""
        found = self._slice_inputs(view, window, query, instruction, role)
        if found is None:
            return [], []
        taken = {found.seqs[i] for i in found.choose(left, weights)}
        alive, chosen = _reads.still_readable(self.db, view, found.seqs, sorted(taken))
        if not digest:
            return chosen, []
        spent = sum(m.tokens for m in chosen)
        rest = [
            t
            for seq, t in zip(found.seqs, found.texts, strict=True)
            if seq not in taken and seq in alive
        ]
        # Characters, then checked in tokens by the caller: ~4 characters a token.
        return chosen, _select.extract(rest, found.recent, max(0, left - spent) * 4)

    # -- summaries -------------------------------------------------------------------------

    def summary(
        self,
        run: str,
        *,
        viewer: str | None = None,
        user: str | None = None,
        thread: str | None = None,
        upto: int | None = None,
        summarizer: Any = None,
    ) -> str | None:
        """A summary of what ``viewer`` may see of ``run`` up to seq ``upto`` (default: all);
        None when there is nothing. Cached: asked again, it is read back; after new
        messages, the cached summary is extended with only those."""
        flow = _flows.summary_flow(self, run, viewer, user, thread, upto, summarizer)
        return _flows.drive_sync(flow)

    def _summarizer(self, summarizer: Any) -> Adapted:
        found = as_summarizer(summarizer) if summarizer is not None else self.summarizer
        if found is None:
            raise InvalidConfigError(
                "no summarizer: pass summarizer= to ConversationLog or to this call (a "
                "callable (messages, previous_summary) -> str, or a chat model)"
            )
        return found

    # -- the slice an agent gets -----------------------------------------------------------

    def context(
        self,
        run: str,
        viewer: str | None,
        *,
        user: str | None = None,
        thread: str | None = None,
        last: int | None = None,
        max_tokens: int | None = None,
        query: str | None = None,
        k: int = 4,
        summarize_older: bool = False,
        summarizer: Any = None,
        budget: int | None = None,
        instruction: str | None = None,
        role: str | None = None,
    ) -> builtins.list[BaseMessage]:
        """What to send ``viewer`` instead of the whole transcript, oldest first:

        * a `SystemMessage` summarizing what it may see before the window
          (``summarize_older=True``),
        * the ``k`` older messages most relevant to ``query`` (plain text messages, no tool
          traffic),
        * the window: the newest messages, at most ``last`` of them and ``max_tokens``
          tokens (none given: everything), without tool results whose call was cut off.

        ``max_tokens`` bounds the window; the summary and the relevant messages come on top.

        With ``budget`` (tokens, the log's counter) the whole slice stays within it, and
        follows the turn: the window (``last``, default 2), then the older messages worth
        most per token to what the agent is about to do (``instruction``, default the newest
        message; its ``role``; the task ``query``) by cosine fused with the names and
        numbers the recent turns share (``k`` is not used), then, with ``summarize_older``,
        the summary if it fits, or without a summarizer an extractive digest of the other
        older messages (their sentences naming what the recent turns name) cut to fit.
        """
        flow = _flows.context_flow(
            self,
            run,
            viewer,
            user,
            thread,
            last,
            max_tokens,
            query,
            k,
            summarize_older,
            summarizer,
            budget,
            instruction,
            role,
        )
        return _flows.drive_sync(flow)

    # -- graph helpers ---------------------------------------------------------------------

    def recorder(
        self,
        *,
        sender: str | Callable[[BaseMessage], str] | None = None,
        messages_key: str = "messages",
        run: str | Callable[[RunnableConfig], str] | None = None,
        visibility: Visibility | None = None,
        recipients: Sequence[str] = (),
    ) -> Callable[[Any, RunnableConfig], dict[str, Any]]:
        """A graph node that appends ``state[messages_key]`` to the history of the run
        (default: the graph's ``thread_id``) and returns no update. Messages already stored
        (same id) are skipped, so it can run after every turn."""

        def record_messages(state: Any, config: RunnableConfig) -> dict[str, Any]:
            where, thread = _run_of(config, run)
            self.extend(
                _messages_of(state, messages_key),
                run=where,
                sender=sender,
                thread=thread,
                visibility=visibility,
                recipients=recipients,
            )
            return {}

        return record_messages

    def context_for(
        self, config: RunnableConfig, viewer: str | None, *, run: Any = None, **options: Any
    ) -> builtins.list[BaseMessage]:
        """`context` for the run of a graph call (``thread_id`` unless ``run`` says)."""
        where, _thread = _run_of(config, run)
        return self.context(where, viewer, **options)

    # -- async twins -----------------------------------------------------------------------

    async def aappend(self, message: BaseMessage, **kwargs: Any) -> StoredMessage:
        """Async `append`."""
        return (await self.aextend([message], **kwargs))[0]

    async def aextend(
        self, messages: Iterable[BaseMessage], **kwargs: Any
    ) -> builtins.list[StoredMessage]:
        """Async `extend`: a remote embedder is awaited here, then the write runs on the
        database's worker (which the embedder's round trips never hold up)."""
        messages = builtins.list(messages)
        async with embedding_ahead(self._remote_embeddings, self._texts_to_embed(messages)):
            return await self.db.run(self.extend, messages, **kwargs)

    async def apage(self, run: str, **kwargs: Any) -> MessagePage:
        """Async `page`."""
        return await self.db.run(self.page, run, **kwargs)

    async def amessages(self, run: str, **kwargs: Any) -> builtins.list[BaseMessage]:
        """Async `messages`."""
        return await self.db.run(self.messages, run, **kwargs)

    async def alast(self, run: str, n: int, **kwargs: Any) -> builtins.list[BaseMessage]:
        """Async `last`."""
        return await self.db.run(self.last, run, n, **kwargs)

    async def awithin_tokens(
        self, run: str, max_tokens: int, **kwargs: Any
    ) -> builtins.list[BaseMessage]:
        """Async `within_tokens`."""
        return await self.db.run(self.within_tokens, run, max_tokens, **kwargs)

    async def arelevant(
        self, run: str, query: str, k: int = 8, **kwargs: Any
    ) -> builtins.list[BaseMessage]:
        """Async `relevant` (a remote embedder awaited off the database's worker)."""
        async with embedding_ahead(self._remote_embeddings, [query]):
            return await self.db.run(self.relevant, run, query, k, **kwargs)

    async def asummary(self, run: str, **kwargs: Any) -> str | None:
        """Async `summary`: reads and writes on the database's thread, the summarizer awaited
        (a chat model's ``ainvoke``) or, if it is a sync callable, in a thread of its own."""
        flow = _flows.summary_flow(
            self,
            run,
            kwargs.pop("viewer", None),
            kwargs.pop("user", None),
            kwargs.pop("thread", None),
            kwargs.pop("upto", None),
            kwargs.pop("summarizer", None),
            asynchronous=True,
        )
        if kwargs:
            raise InvalidConfigError(f"unexpected arguments {sorted(kwargs)}")
        return await _flows.drive_async(self.db, flow)  # type: ignore[no-any-return]

    async def acontext(
        self, run: str, viewer: str | None, **kwargs: Any
    ) -> builtins.list[BaseMessage]:
        """Async `context` (the summarizer as in `asummary`)."""
        names = (
            "user",
            "thread",
            "last",
            "max_tokens",
            "query",
            "k",
            "summarize_older",
            "summarizer",
            "budget",
            "instruction",
            "role",
        )
        defaults = {"k": 4, "summarize_older": False}
        args = [kwargs.pop(n, defaults.get(n)) for n in names]
        if kwargs:
            raise InvalidConfigError(f"unexpected arguments {sorted(kwargs)}")
        flow = _flows.context_flow(self, run, viewer, *args, asynchronous=True)
        texts = [args[names.index(n)] for n in ("query", "instruction", "role")]
        async with embedding_ahead(self._remote_embeddings, [t for t in texts if t]):
            return await _flows.drive_async(self.db, flow)  # type: ignore[no-any-return]

    async def acontext_for(
        self, config: RunnableConfig, viewer: str | None, *, run: Any = None, **options: Any
    ) -> builtins.list[BaseMessage]:
        """Async `context_for`."""
        where, _thread = _run_of(config, run)
        return await self.acontext(where, viewer, **options)

    def arecorder(self, **options: Any) -> Callable[[Any, RunnableConfig], Any]:
        """Async `recorder` (for graphs run with ``ainvoke``/``astream``)."""
        record = self.recorder(**options)

        async def record_messages(state: Any, config: RunnableConfig) -> dict[str, Any]:
            return await self.db.run(record, state, config)

        return record_messages

    def __repr__(self) -> str:
        return f"ConversationLog({self.db.path!r})"


def _sender_of(message: BaseMessage, sender: Any) -> str:
    if callable(sender):
        sender = sender(message)
    elif sender is None:
        sender = message.name or ("user" if message.type == "human" else message.type)
    check_name("sender", sender)
    return sender  # type: ignore[no-any-return]


def _messages_of(state: Any, key: str) -> builtins.list[BaseMessage]:
    found = state.get(key) if isinstance(state, dict) else getattr(state, key, None)
    if found is None:
        raise InvalidConfigError(f"the graph state has no {key!r} messages to record")
    return builtins.list(found)


def _run_of(config: RunnableConfig, run: Any) -> tuple[str, str | None]:
    configurable = (config or {}).get("configurable") or {}
    thread = configurable.get("thread_id")
    thread = None if thread is None else str(thread)
    if callable(run):
        run = run(config)
    if run is None:
        run = thread
    if run is None:
        raise InvalidConfigError(
            "no run for the conversation: invoke the graph with "
            "{'configurable': {'thread_id': ...}} or pass run="
        )
    return run, thread

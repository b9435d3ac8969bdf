"""The ``sharedmem`` command: a thin layer of click commands over `Inspector`.

Each command's docstring is its ``--help``. Every command takes the database path first and
``--json`` for one JSON document on stdout instead of tables. Errors print one line,
``sharedmem: error: ...``, on stderr and exit with status 1.
"""

from __future__ import annotations

import functools
import sqlite3
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from langgraph_sharedmem.cli import _render as render
from langgraph_sharedmem.errors import SharedMemoryError

if TYPE_CHECKING:
    from langgraph_sharedmem.cli.inspector import Inspector

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])


def _inspector(database: str, **options: Any) -> Inspector:
    # The parts (and LangChain, LangGraph) load when a command runs, not for `--help`.
    from langgraph_sharedmem.cli.inspector import Inspector

    return Inspector(database, **options)


class InspectorError(click.ClickException):
    """One line on stderr, exit status 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"sharedmem: error: {self.format_message()}", err=True)


def _fails_plainly(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SharedMemoryError as exc:
            raise InspectorError(str(exc)) from exc
        except sqlite3.DatabaseError as exc:
            raise InspectorError(f"SQLite: {exc}") from exc

    return wrapper  # type: ignore[return-value]


def _command(group: click.Group, name: str, *, db: bool = True) -> Callable[[F], F]:
    """Register ``fn`` as ``name`` with the database argument and ``--json``."""

    def decorate(fn: F) -> F:
        wrapped = _fails_plainly(fn)
        wrapped = click.option(
            "--json", "as_json", is_flag=True, help="Print JSON instead of tables."
        )(wrapped)
        if db:
            wrapped = click.argument(
                "database", type=click.Path(dir_okay=True, path_type=str), envvar="SHAREDMEM_DB"
            )(wrapped)
        return group.command(name)(wrapped)  # type: ignore[return-value]

    return decorate


def _allow(values: Sequence[str]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for value in values:
        module, _, name = value.rpartition(".")
        if ":" in value:
            module, _, name = value.partition(":")
        if not module or not name:
            raise InspectorError(f"--allow takes module.Name or module:Name, got {value!r}")
        out.append((module, name))
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="langgraph-sharedmem", prog_name="sharedmem")
def cli() -> None:
    """Inspect a langgraph-sharedmem database: threads and checkpoints, facts, disagreements,
    quarantine, agents, conversation, audit log, change log, index health and stats.

    Opens the database read-only (it is never created) except for `prune` and
    `index verify|rebuild`; `copy SRC DST` reads SRC and writes only DST, an empty database.
    The database path can also come from $SHAREDMEM_DB.
    """


# -- the whole file ------------------------------------------------------------------------


@_command(cli, "stats")
def stats(database: str, as_json: bool) -> None:
    """File sizes, schema parts and versions, and row counts."""
    with _inspector(database) as ins:
        data = ins.stats()
    if as_json:
        return render.emit_json(data)
    summary = {"path": data["path"], **data["files"]}
    if "threads" in data:
        summary["threads"] = data["threads"]
    for key in ("claims_by_status", "disagreements_by_status"):
        if key in data:
            summary[key] = data[key]
    if "index" in data:
        index = data["index"]
        summary["vectors"] = index["vectors"]
        summary["index_pending"] = sum(i["pending"] for i in index["indexes"]) or 0
    render.record(summary, title="database")
    render.table(
        data["parts"],
        ["part", "migration_set", "steps", "latest_step", "known_to_this_install"],
        title="schema",
    )
    render.table(
        [{"table": t, "rows": n} for t, n in data["tables"].items()],
        ["table", "rows"],
        title="tables",
    )


# -- threads and checkpoints ---------------------------------------------------------------


@_command(cli, "threads")
@click.option("--limit", default=100, show_default=True, help="At most this many threads.")
def threads(database: str, as_json: bool, limit: int) -> None:
    """Threads, most recently checkpointed first."""
    with _inspector(database) as ins:
        rows = ins.threads(limit)
    if as_json:
        return render.emit_json(rows)
    render.table(
        rows,
        [
            "thread_id",
            "checkpoints",
            "namespaces",
            "step",
            "source",
            "updated_at",
            "latest_checkpoint",
        ],
        empty="no threads",
    )


@_command(cli, "history")
@click.argument("thread_id")
@click.option("--ns", default="", help="Checkpoint namespace (a subgraph's); default the root.")
@click.option("--limit", default=100, show_default=True)
def history(database: str, as_json: bool, thread_id: str, ns: str, limit: int) -> None:
    """A thread's checkpoints, newest first: step, source, channels changed, pending writes."""
    with _inspector(database) as ins:
        rows = ins.history(thread_id, ns=ns, limit=limit)
    if as_json:
        return render.emit_json(rows)
    render.table(
        rows,
        ["checkpoint_id", "created_at", "step", "source", "changed", "writes"],
        title=f"thread {thread_id}",
        empty=f"thread {thread_id!r} has no checkpoints",
    )


_ALLOW = click.option(
    "--allow",
    multiple=True,
    metavar="MODULE.NAME",
    help="A type stored values may rebuild (repeatable), as SharedMemorySaver(allowlist=...).",
)
_FULL = click.option(
    "--full", is_flag=True, help="Print whole values; by default cells are cut at 80 characters."
)


@_command(cli, "checkpoint")
@click.argument("thread_id")
@click.argument("checkpoint_id", required=False)
@click.option("--ns", default="")
@_ALLOW
@_FULL
def checkpoint(
    database: str,
    as_json: bool,
    thread_id: str,
    checkpoint_id: str | None,
    ns: str,
    allow: tuple[str, ...],
    full: bool,
) -> None:
    """Channel values of one checkpoint (the thread's latest if no id is given)."""
    with _inspector(database, allowlist=_allow(allow)) as ins:
        data = ins.checkpoint(thread_id, checkpoint_id, ns=ns)
    if as_json:
        return render.emit_json(data)
    head = {
        k: data[k] for k in ("thread_id", "checkpoint_id", "parent_checkpoint_id", "created_at")
    }
    head["step"] = data["metadata"].get("step")
    head["source"] = data["metadata"].get("source")
    render.record(head, title="checkpoint")
    render.table(
        [{"channel": k, "value": v} for k, v in data["values"].items()],
        ["channel", "value"],
        title="channel values",
        empty="no channel values",
        wide=full,
    )
    if data["pending_writes"]:
        render.table(
            data["pending_writes"],
            ["task_id", "channel", "value"],
            title="pending writes",
            wide=full,
        )


@_command(cli, "diff")
@click.argument("thread_id")
@click.argument("first")
@click.argument("second", required=False)
@click.option("--ns", default="")
@_ALLOW
@_FULL
def diff(
    database: str,
    as_json: bool,
    thread_id: str,
    first: str,
    second: str | None,
    ns: str,
    allow: tuple[str, ...],
    full: bool,
) -> None:
    """Channel values that differ between checkpoints FIRST and SECOND; with FIRST only,
    between FIRST's parent and FIRST (what that step did)."""
    with _inspector(database, allowlist=_allow(allow)) as ins:
        data = ins.diff(thread_id, first, second, ns=ns)
    if as_json:
        return render.emit_json(data)
    rows = []
    for change in data["changes"]:
        if change["change"] == "appended":
            detail = change["appended"]
            rows.append({**change, "before": f"{change['before_len']} items", "after": detail})
        else:
            rows.append(change)
    render.table(
        rows,
        ["channel", "change", "before", "after"],
        title=f"{data['from'] or '(start)'} -> {data['to']}",
        empty="no channel changed",
        wide=full,
    )
    if data["unchanged"]:
        render.say(f"[dim]unchanged: {', '.join(data['unchanged'])}[/dim]")


# -- the store -----------------------------------------------------------------------------


@_command(cli, "items")
@click.option("--prefix", default=None, help="Namespace prefix, labels joined by '.'.")
@click.option("--limit", default=100, show_default=True)
def items(database: str, as_json: bool, prefix: str | None, limit: int) -> None:
    """Store items, newest first."""
    with _inspector(database) as ins:
        rows = ins.items(prefix, limit=limit)
    if as_json:
        return render.emit_json(rows)
    for row in rows:
        row["namespace"] = ".".join(row["namespace"])
    render.table(rows, ["namespace", "key", "value", "updated_at"], empty="no items")


# -- facts ---------------------------------------------------------------------------------

_SCOPE = click.option("--scope", default=None, help="app, user:ID, agent:ID or run:ID.")


@_command(cli, "facts")
@_SCOPE
@click.option(
    "--status",
    type=click.Choice(["verified", "quarantined", "rejected", "superseded"]),
    default=None,
    help="Claims in this status (default: each fact as readers see it).",
)
@click.option("--subject", default=None)
@click.option("--attribute", default=None)
@click.option("--limit", default=1000, show_default=True)
def facts(
    database: str,
    as_json: bool,
    scope: str | None,
    status: str | None,
    subject: str | None,
    attribute: str | None,
    limit: int,
) -> None:
    """Facts by scope and status."""
    with _inspector(database) as ins:
        rows = ins.facts(
            scope=scope, status=status, subject=subject, attribute=attribute, limit=limit
        )
    if as_json:
        return render.emit_json(rows)
    render.table(
        rows,
        [
            "scope",
            "subject",
            "attribute",
            "value",
            "status",
            "author",
            "confidence",
            "version",
            "contested",
            "claim_id",
        ],
        empty="no facts",
    )


@_command(cli, "fact")
@click.argument("scope")
@click.argument("subject")
@click.argument("attribute")
def fact(database: str, as_json: bool, scope: str, subject: str, attribute: str) -> None:
    """One fact: its value, every claim and its whole history."""
    with _inspector(database) as ins:
        data = ins.fact(scope, subject, attribute)
    if as_json:
        return render.emit_json(data)
    f = {**data["fact"], "scope": _scope_text(data["fact"]["scope"])}
    render.record(
        {
            k: f[k]
            for k in ("scope", "subject", "attribute", "value", "status", "version", "contested")
        },
        title="fact",
    )
    claims = [{**c, "authors": [s["author"] for s in c["sources"]]} for c in data["claims"]]
    render.table(
        claims, ["id", "value", "status", "authors", "confidence", "updated_at"], title="claims"
    )
    render.table(
        data["history"],
        ["version", "event", "by", "claim_id", "value", "status", "reason", "at"],
        title="history",
    )


@_command(cli, "disagreements")
@_SCOPE
@click.option(
    "--status",
    type=click.Choice(["open", "settled", "resolved", "all"]),
    default="open",
    show_default=True,
)
def disagreements(database: str, as_json: bool, scope: str | None, status: str) -> None:
    """Disagreements between agents over a fact, and how each was settled."""
    with _inspector(database) as ins:
        rows = ins.disagreements(status=None if status == "all" else status, scope=scope)
    if as_json:
        return render.emit_json(rows)
    for row in rows:
        row["scope"] = _scope_text(row["scope"])
        row["claims"] = [
            f"{c['id']}:{c['author']}={render.cell(c['value'])} ({c['status']})"
            for c in row["claims"]
        ]
    render.table(
        rows,
        [
            "id",
            "scope",
            "subject",
            "attribute",
            "status",
            "policy",
            "claims",
            "winner_claim",
            "decided_by",
        ],
        empty=f"no {status if status != 'all' else ''} disagreements".replace("  ", " "),
    )


def _times(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """Epoch seconds in ``keys`` as readable UTC times (tables only; JSON keeps numbers)."""
    for row in rows:
        for key in keys:
            if isinstance(row.get(key), (int, float)) and not isinstance(row[key], bool):
                row[key] = datetime.fromtimestamp(row[key], UTC).isoformat(timespec="seconds")
    return rows


def _scope_text(scope: Any) -> str:
    if isinstance(scope, dict):
        return scope["kind"] if scope.get("id") is None else f"{scope['kind']}:{scope['id']}"
    return str(scope)


@_command(cli, "quarantine")
@_SCOPE
@click.option("--run", default=None, help="Only claims tagged with this run.")
@click.option("--limit", default=1000, show_default=True)
def quarantine(
    database: str, as_json: bool, scope: str | None, run: str | None, limit: int
) -> None:
    """The quarantine queue: claims waiting for validation, oldest first."""
    with _inspector(database) as ins:
        rows = ins.quarantine(run=run, scope=scope, limit=limit)
    if as_json:
        return render.emit_json(rows)
    for row in rows:
        if "scope" in row:
            row["scope"] = _scope_text(row["scope"])
        row.setdefault("claim_id", row.get("id"))
    render.table(
        rows,
        ["claim_id", "scope", "subject", "attribute", "value", "author", "confidence", "run"],
        empty="the quarantine queue is empty",
    )


@_command(cli, "validations")
@click.option("--run", default=None)
@click.option("--claim", "claim_id", type=int, default=None)
@click.option("--outcome", default=None, help="approve, reject, abstain, review or error.")
def validations(
    database: str, as_json: bool, run: str | None, claim_id: int | None, outcome: str | None
) -> None:
    """The validation log: each validator's verdict on each claim."""
    with _inspector(database) as ins:
        rows = ins.validations(run=run, claim_id=claim_id, outcome=outcome)
    if as_json:
        return render.emit_json(rows)
    columns = list(rows[0]) if rows else []
    render.table(rows, columns, empty="the validation log is empty")


# -- agents, conversation, audit, changes --------------------------------------------------


@_command(cli, "agents")
@click.option("--capability", default=None, help="Only agents with this capability.")
@click.option("--retired", is_flag=True, help="Include retired agents.")
def agents(database: str, as_json: bool, capability: str | None, retired: bool) -> None:
    """The agent registry: description, capabilities, tools, endpoint, last seen."""
    with _inspector(database) as ins:
        rows = ins.agents(capability=capability, include_retired=retired)
    if as_json:
        return render.emit_json(rows)
    render.table(
        _times(rows, "last_seen", "retired_at"),
        [
            "name",
            "description",
            "capabilities",
            "tools",
            "endpoint",
            "trust",
            "last_seen",
            "stale",
            "retired_at",
        ],
        empty="no agents registered",
    )


@_command(cli, "messages")
@click.argument("run", required=False)
@click.option("--thread", default=None)
@click.option("--viewer", default=None, help="Show what this agent may see (default: all).")
@click.option("--limit", default=100, show_default=True)
@click.option("--newest-first", is_flag=True)
def messages(
    database: str,
    as_json: bool,
    run: str | None,
    thread: str | None,
    viewer: str | None,
    limit: int,
    newest_first: bool,
) -> None:
    """Conversation history of RUN: who said what to whom (without RUN: the runs)."""
    if run is None:
        with _inspector(database) as ins:
            found = ins.runs(limit=limit)
        if as_json:
            return render.emit_json(found)
        return render.table(
            found, ["run", "messages", "senders", "first_at", "last_at"], empty="no conversation"
        )
    with _inspector(database) as ins:
        rows = ins.messages(
            run, thread=thread, viewer=viewer, limit=limit, newest_first=newest_first
        )
    if as_json:
        return render.emit_json(rows)
    for row in rows:
        message = row.get("message") or {}
        row["type"] = message.get("type")
        row["content"] = message.get("content")
    render.table(
        _times(rows, "created_at"),
        ["seq", "sender", "recipients", "visibility", "type", "content", "created_at"],
        title=f"run {run}",
        empty=f"no messages in run {run!r}",
    )


@_command(cli, "audit")
@click.option("--agent", default=None)
@click.option("--user", default=None)
@click.option("--run", default=None)
@click.option("--action", default=None)
@click.option("--outcome", type=click.Choice(["allowed", "denied"]), default=None)
@click.option("--since", type=float, default=None, help="Unix time.")
@click.option("--limit", default=1000, show_default=True)
def audit(
    database: str,
    as_json: bool,
    agent: str | None,
    user: str | None,
    run: str | None,
    action: str | None,
    outcome: str | None,
    since: float | None,
    limit: int,
) -> None:
    """The access log: every audited read, write, grant and denial, oldest first."""
    with _inspector(database) as ins:
        rows = ins.audit(
            agent=agent,
            user=user,
            run=run,
            action=action,
            outcome=outcome,
            since=since,
            limit=limit,
        )
    if as_json:
        return render.emit_json(rows)
    render.table(
        rows,
        ["at", "agent", "user", "run", "action", "scope", "subject", "outcome", "detail"],
        empty="the audit log is empty",
    )


@_command(cli, "changes")
@click.option("--after", default=0, show_default=True, help="Only changes after this seq.")
@click.option("--kind", default=None, help="fact, item, grant, agent, message, ...")
@click.option("--limit", default=1000, show_default=True)
def changes(database: str, as_json: bool, after: int, kind: str | None, limit: int) -> None:
    """The change log: every committed change to shared memory, in commit order."""
    with _inspector(database) as ins:
        rows = ins.changes(after=after, kind=kind, limit=limit)
    if as_json:
        return render.emit_json(rows)
    render.table(rows, ["seq", "kind", "op", "scope", "key", "author", "data"], empty="no changes")


# -- index health --------------------------------------------------------------------------


@cli.group("index")
def index() -> None:
    """Health of the vector index: status (read-only), verify, rebuild."""


_CHROMA = click.option(
    "--chroma",
    default="embedded",
    show_default=True,
    help="The Chroma index: 'embedded' (DATABASE.chroma) or a directory.",
)
_CHROMA_URL = click.option(
    "--chroma-url", default=None, help="A Chroma server instead, e.g. http://127.0.0.1:8000."
)


def _chroma(chroma: str, url: str | None) -> Any:
    if url is None:
        return chroma
    from urllib.parse import urlparse

    import chromadb

    parsed = urlparse(url)
    if not parsed.hostname:
        raise InspectorError(f"--chroma-url must look like http://host:port, got {url!r}")
    return chromadb.HttpClient(
        host=parsed.hostname,
        port=parsed.port or 8000,
        ssl=parsed.scheme == "https",
        settings=chromadb.Settings(anonymized_telemetry=False),
    )


@_command(index, "status")
def index_status(database: str, as_json: bool) -> None:
    """What SQLite records about the index: vectors, changes not yet applied, lease holder."""
    with _inspector(database) as ins:
        data = ins.index_status()
    if as_json:
        return render.emit_json(data)
    render.record({k: v for k, v in data.items() if k != "indexes"}, title="index")
    render.table(
        data["indexes"], ["name", "applied_seq", "pending", "lease_holder"], empty="never applied"
    )


@_command(index, "verify")
@_CHROMA
@_CHROMA_URL
def index_verify(database: str, as_json: bool, chroma: str, chroma_url: str | None) -> None:
    """Apply pending changes, then compare every vector in Chroma with SQLite (writes the
    index state, so the database is opened writable). Exit status 1 if they disagree."""
    with _inspector(database, writable=True, chroma=_chroma(chroma, chroma_url)) as ins:
        data = ins.verify_index()
    if as_json:
        render.emit_json(data)
    else:
        summary = {k: (len(v) if isinstance(v, list) else v) for k, v in data.items()}
        render.record(summary, title="index verify")
    if not data["ok"]:
        raise InspectorError(
            "the index disagrees with SQLite; `sharedmem index rebuild` repairs it"
            if not data.get("error")
            else data["error"]
        )


@_command(index, "rebuild")
@_CHROMA
@_CHROMA_URL
def index_rebuild(database: str, as_json: bool, chroma: str, chroma_url: str | None) -> None:
    """Recreate the Chroma index from the embeddings stored in SQLite (no embedding calls)."""
    with _inspector(database, writable=True, chroma=_chroma(chroma, chroma_url)) as ins:
        total = ins.index_status()["vectors"]
        with render.progress("rebuilding index", total, enabled=not as_json) as advance:
            count = ins.rebuild_index(progress=advance)
    if as_json:
        return render.emit_json({"vectors": count})
    render.say(f"rebuilt the index: {count} vectors")


# -- pruning -------------------------------------------------------------------------------


@_command(cli, "prune")
@click.option("--thread", "thread_ids", multiple=True, help="Only this thread (repeatable).")
@click.option(
    "--strategy",
    type=click.Choice(["keep_latest", "delete"]),
    default="keep_latest",
    show_default=True,
    help="keep_latest: keep each thread's newest checkpoint (and what it needs); delete: all.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be pruned; change nothing.")
def prune(
    database: str, as_json: bool, thread_ids: tuple[str, ...], strategy: str, dry_run: bool
) -> None:
    """Drop old checkpoints of every thread (or the given ones), one transaction per thread."""
    if dry_run:
        with _inspector(database) as ins:
            rows = ins.threads(limit=1_000_000)
        chosen = [r for r in rows if not thread_ids or r["thread_id"] in thread_ids]
        data = {
            "dry_run": True,
            "strategy": strategy,
            "threads": len(chosen),
            "checkpoints": sum(r["checkpoints"] for r in chosen),
        }
        return render.emit_json(data) if as_json else render.record(data, title="prune (dry run)")
    with _inspector(database, writable=True) as ins:
        total = len(thread_ids) if thread_ids else ins.count_threads()
        with render.progress("pruning threads", total, enabled=not as_json) as advance:
            data = ins.prune(list(thread_ids) or None, strategy=strategy, progress=advance)
    if as_json:
        return render.emit_json(data)
    render.record(data, title=f"prune ({strategy})")


@_command(cli, "import-sqlite-saver")
@click.argument("target", type=click.Path(dir_okay=False, path_type=str))
@_ALLOW
def import_sqlite_saver(database: str, as_json: bool, target: str, allow: tuple[str, ...]) -> None:
    """Copy every thread, checkpoint and pending write of LangGraph's SqliteSaver file
    DATABASE into TARGET, a new langgraph-sharedmem database, and check each copied
    checkpoint reads back the same (DATABASE is opened read-only)."""
    from langgraph_sharedmem.cli._import import import_sqlite_saver as copy

    with render.progress("importing threads", None, enabled=not as_json) as advance:
        report = copy(database, target, allowlist=_allow(allow), progress=advance)
    data = {
        "source": database,
        "target": target,
        "threads": report.threads,
        "namespaces": report.namespaces,
        "checkpoints": report.checkpoints,
        "writes": report.writes,
        "verified": True,
    }
    if as_json:
        return render.emit_json(data)
    render.record(data, title="imported from SqliteSaver")


@_command(cli, "copy", db=False)
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DST")
def copy(as_json: bool, source: str, destination: str) -> None:
    """Copy the whole memory at SRC into DST, an empty database, and verify it.

    SRC and DST are file paths, sqlite:/// URLs, postgresql:// URLs or libpq connection strings
    ('host=... dbname=...'): move a SQLite file to PostgreSQL and back. Every table is copied in one
    snapshot of SRC and one transaction on DST, then compared: row counts and a SHA-256 over the
    rows in key order. Exits 1 if any table differs. Refuses, writing nothing, a DST holding data or
    a SRC holding data of a part DST cannot hold yet.
    """
    from langgraph_sharedmem.cli._copy import copy_database

    report = copy_database(source, destination)
    rows = [
        {
            "part": t.part,
            "table": t.table,
            "rows": t.source_rows if t.ok else f"{t.source_rows} -> {t.dest_rows}",
            "hash": t.source_hash[:16] if t.ok else f"{t.source_hash[:8]} -> {t.dest_hash[:8]}",
            "ok": "ok" if t.ok else "MISMATCH",
        }
        for t in report.tables
    ]
    if as_json:
        render.emit_json(
            {
                "source": report.source,
                "destination": report.destination,
                "ok": report.ok,
                "rows": report.rows,
                "tables": [
                    {
                        "part": t.part,
                        "table": t.table,
                        "source_rows": t.source_rows,
                        "dest_rows": t.dest_rows,
                        "source_sha256": t.source_hash,
                        "dest_sha256": t.dest_hash,
                        "ok": t.ok,
                    }
                    for t in report.tables
                ],
            }
        )
    else:
        render.table(
            rows,
            ["part", "table", "rows", "hash", "ok"],
            title=f"{report.source} -> {report.destination}",
        )
    if not report.ok:
        bad = ", ".join(t.table for t in report.tables if not t.ok)
        raise InspectorError(f"the copy differs from the source in tables {bad}")
    if not as_json:
        render.say(f"copied and verified {report.rows} rows in {len(report.tables)} tables")


@_command(cli, "studio-threads")
@click.option("--graph", "graph_id", required=True, help="The graph of langgraph.json.")
@click.option(
    "--project",
    "project_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=str),
    help="The directory of langgraph.json (where `langgraph dev` keeps .langgraph_api).",
)
@click.option("--thread", "thread_ids", multiple=True, help="Only this thread (repeatable).")
@click.option(
    "--copy-non-uuid", is_flag=True, help="Copy threads whose ids are not UUIDs to UUID ids."
)
def studio_threads(
    database: str,
    as_json: bool,
    graph_id: str,
    project_dir: str,
    thread_ids: tuple[str, ...],
    copy_non_uuid: bool,
) -> None:
    """List the database's threads in `langgraph dev` (run it while the server is stopped):
    threads written by other processes then show up in Studio."""
    from langgraph_sharedmem.cli.studio import register_threads

    report = register_threads(
        database,
        graph_id=graph_id,
        thread_ids=list(thread_ids) or None,
        copy_non_uuid=copy_non_uuid,
        project_dir=project_dir,
    )
    data = {
        "added": report.added,
        "known": report.known,
        "skipped": report.skipped,
        "copied": report.copied,
    }
    if as_json:
        return render.emit_json(data)
    render.record({k: v for k, v in data.items()}, title="studio threads")
    if report.skipped:
        render.say(
            "[dim]skipped: thread ids that are not UUIDs (the dev server requires them); "
            "--copy-non-uuid copies them to UUID threads[/dim]"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sharedmem`` command; the exit status."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="sharedmem",
            standalone_mode=False,
        )
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""An attacker with write access to the database file crafts checkpointer rows.

The subject writes rows straight into ``checkpoints``, ``channel_values`` and ``writes``:
serializer tags ``json``, ``msgpack``, ``msgpack|zlib``, ``pickle``, ``bytes`` and made-up
ones; msgpack extension payloads naming random modules and classes (``os.system``,
``subprocess.Popen``, a canary module that leaves a marker when imported, the application's
own types, LangChain's prompt template); zlib bombs; truncated blobs; list segments whose
chain loops or keeps more elements than its base holds.

Invariant, for every crafted database: each read through the saver either returns values an
application could have written (plain data, LangGraph's safe types, the application's own
state types) or raises one of the project's errors (`SharedMemoryError`). Nothing named in
a payload is imported or run (``sys.modules`` is unchanged, no marker file appears), and no
read inflates a blob beyond ``max_decompressed_bytes``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pickle
import re
import resource
import sqlite3
import sys
import zlib
from collections import deque
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path, PurePath
from re import Pattern
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import ormsgpack
import pytest
from _graphs import build_typed_graph
from hypothesis import given, settings
from hypothesis import strategies as st
from langgraph.checkpoint.serde._msgpack import SAFE_MSGPACK_TYPES
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.types import Command

from langgraph_sharedmem import SharedMemorySaver
from langgraph_sharedmem.checkpoint import _lists
from langgraph_sharedmem.errors import (
    DatabaseFileError,
    SharedMemoryError,
    UnsafeDeserializationError,
)
from langgraph_sharedmem.serde import app_state_class
from tests._servers import fresh_database
from tests.adversarial._stress import SCALE

CANARY = "sharedmem_canary_crafted_rows"
LIMIT = 64 * 1024  # max_decompressed_bytes of the saver under attack: bombs stay cheap
THREADS = ("typed", "typed-paused")
# Fewer on PostgreSQL: a database cloned per example costs ~0.1 s more.
POSTGRES_EXAMPLES = max(5, int(15 * SCALE))

_WORK: dict[str, Path] = {}


def _canary_source(marker: Path) -> str:
    return (
        "import dataclasses, pathlib\n"
        f"pathlib.Path({str(marker)!r}).touch()\n"
        "@dataclasses.dataclass\nclass Thing:\n    x: object = None\n"
        f"def boom(*a, **k):\n    pathlib.Path({str(marker)!r}).touch()\n"
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A pristine database with typed state, list channels and pending writes; the canary."""
    root = tmp_path_factory.mktemp("crafted")
    (root / f"{CANARY}.py").write_text(_canary_source(root / "canary-imported"))
    sys.path.insert(0, str(root))
    with SharedMemorySaver(root / "pristine.db") as saver:
        graph = build_typed_graph().compile(checkpointer=saver)
        for _ in range(3):
            graph.invoke({"log": []}, {"configurable": {"thread_id": "typed"}})
        paused = build_typed_graph(review=True).compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "typed-paused"}}
        paused.invoke({"log": []}, config)
        paused.invoke(Command(resume="ok"), config)
        paused.invoke({"log": []}, config)  # paused again: its interrupt is a pending write
    _WORK["root"] = root
    try:
        yield root
    finally:
        sys.path.remove(str(root))


def _markers(root: Path) -> list[Path]:
    return [root / "canary-imported", root / "pwned"]


# -- strategies -------------------------------------------------------------------------------

MODULES = st.sampled_from(
    [
        CANARY,
        "os",
        "posix",
        "subprocess",
        "builtins",
        "shutil",
        "importlib",
        "_graphs",
        "langchain_core.prompts.prompt",
        "langchain_core.runnables.base",
        "pathlib",
        "re",
        "datetime",
        "collections",
        "langgraph.types",
    ]
) | st.from_regex(r"[a-z_]{1,10}(\.[a-z_]{1,8}){0,2}", fullmatch=True)
NAMES = st.sampled_from(
    [
        "system",
        "Popen",
        "eval",
        "exec",
        "rmtree",
        "import_module",
        "Thing",
        "boom",
        "Action",
        "Ticket",
        "Priority",
        "Point",
        "Plan",
        "typed_step",
        "PromptTemplate",
        "RunnableLambda",
        "compile",
        "Path",
        "deque",
        "Send",
        "datetime",
        "mkdir",
    ]
) | st.from_regex(r"[A-Za-z_]{1,12}", fullmatch=True)


def _pwn_strings() -> st.SearchStrategy[str]:
    def make(kind: int) -> str:
        marker = _WORK["root"] / "pwned"
        return [
            str(marker),
            f"touch {marker}",
            f"import pathlib; pathlib.Path({str(marker)!r}).touch()",
        ][kind]

    return st.integers(0, 2).map(make)


LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.binary(max_size=12)
    | st.deferred(_pwn_strings)
)


def _ext(children: st.SearchStrategy[Any]) -> st.SearchStrategy[ormsgpack.Ext]:
    head = st.tuples(MODULES, NAMES, children) | st.tuples(MODULES, NAMES, children, NAMES)
    return st.builds(
        lambda code, parts: ormsgpack.Ext(code, ormsgpack.packb(list(parts))),
        st.integers(0, 9),
        head,
    )


VALUES = st.recursive(
    LEAVES,
    lambda c: (
        st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4) | _ext(c)
    ),
    max_leaves=12,
)


def _msgpack(value: Any) -> bytes:
    return ormsgpack.packb(value)


def _json_row(module: str, name: str, kwargs: Any) -> bytes:
    return json.dumps(
        {"lc": 1, "type": "constructor", "id": [*module.split("."), name], "kwargs": kwargs},
        default=repr,
    ).encode()


class _Reducer:
    def __init__(self, module: str, name: str, arg: Any) -> None:
        self.target = (module, name, arg)

    def __reduce__(self) -> Any:
        import importlib

        return (importlib.import_module, (self.target[0],))


def _bomb(size: int) -> bytes:
    return zlib.compress(b"\0" * size, 9)


TAGS = st.sampled_from(["msgpack", "json", "pickle", "bytes", "bytearray", "null"]) | st.text(
    max_size=8
)


@st.composite
def typed_blobs(draw: st.DrawFn) -> tuple[Any, Any]:
    """A (type, value) pair for a value, write or checkpoint row."""
    kind = draw(st.sampled_from(["msgpack", "zlib", "json", "pickle", "bomb", "raw", "bad"]))
    if kind == "msgpack":
        return "msgpack", _msgpack(draw(VALUES))
    if kind == "zlib":
        blob = _msgpack(draw(VALUES))
        if draw(st.booleans()):
            return "msgpack|zlib", zlib.compress(blob)
        return "msgpack|zlib", zlib.compress(blob)[: draw(st.integers(0, 12))]  # truncated
    if kind == "json":
        return "json", _json_row(draw(MODULES), draw(NAMES), draw(VALUES))
    if kind == "pickle":
        return "pickle", pickle.dumps(_Reducer(draw(MODULES), draw(NAMES), None))
    if kind == "bomb":
        size = draw(st.sampled_from([LIMIT + 1, 4 * LIMIT, 64 * LIMIT]))
        return draw(st.sampled_from(["msgpack|zlib", "bytes|zlib", "json|zlib"])), _bomb(size)
    if kind == "raw":
        return draw(TAGS), draw(st.binary(max_size=64))
    # Wrong column types: a string blob, a number as type, NULLs.
    return draw(st.sampled_from([None, 7, "msgpack"])), draw(
        st.sampled_from([None, "text", 3.5, b"\x92\x01"])
    )


@st.composite
def segments(draw: st.DrawFn) -> bytes:
    """A list segment blob: crafted elements, a bomb, random bytes, or a truncated array."""
    kind = draw(st.sampled_from(["elements", "bomb", "random", "truncated"]))
    if kind == "elements":
        return ormsgpack.packb([list(draw(typed_blobs())) for _ in range(draw(st.integers(0, 3)))])
    if kind == "bomb":
        return _bomb(draw(st.sampled_from([LIMIT + 1, 16 * LIMIT])))
    if kind == "random":
        return draw(st.binary(max_size=64))
    return b"\xdd\xff\xff\xff\xff" + draw(st.binary(max_size=8))  # claims 4 billion elements


@st.composite
def attacks(draw: st.DrawFn) -> tuple[str, tuple[Any, ...]]:
    """One crafted UPDATE: SQL with parameters, applied to one row picked by rank."""
    target = draw(st.sampled_from(["value", "write", "checkpoint", "segment", "chain"]))
    rank = draw(st.integers(0, 40))
    if target == "value":
        type_, blob = draw(typed_blobs())
        sql = (
            "UPDATE channel_values SET kind = 'value', type = ?, value = ? WHERE rowid = "
            "(SELECT rowid FROM channel_values WHERE kind = 'value' ORDER BY rowid "
            "LIMIT 1 OFFSET ? % (SELECT count(*) FROM channel_values WHERE kind = 'value'))"
        )
        return sql, (type_, blob, rank)
    if target == "write":
        type_, blob = draw(typed_blobs())
        sql = (
            "UPDATE writes SET type = ?, value = ? WHERE rowid = (SELECT rowid FROM writes "
            "ORDER BY rowid LIMIT 1 OFFSET ? % (SELECT count(*) FROM writes))"
        )
        return sql, (type_, blob, rank)
    if target == "checkpoint":
        type_, blob = draw(typed_blobs())
        sql = (
            "UPDATE checkpoints SET type = ?, checkpoint = ? WHERE rowid = (SELECT rowid FROM "
            "checkpoints ORDER BY rowid LIMIT 1 OFFSET ? % (SELECT count(*) FROM checkpoints))"
        )
        return sql, (
            type_ if type_ is not None else "msgpack",
            blob if blob is not None else b"",
            rank,
        )
    pick = (
        "(SELECT rowid FROM channel_values WHERE kind = 'list' ORDER BY rowid "
        "LIMIT 1 OFFSET ? % (SELECT count(*) FROM channel_values WHERE kind = 'list'))"
    )
    if target == "segment":
        return f"UPDATE channel_values SET value = ? WHERE rowid = {pick}", (
            draw(segments()),
            rank,
        )
    base_len = draw(st.none() | st.integers(-3, 50))
    loop = draw(st.booleans())
    return (
        "UPDATE channel_values SET base_len = ?, "
        "base_version = CASE WHEN ? THEN version ELSE base_version END "
        f"WHERE rowid = {pick}",
        (base_len, loop, rank),
    )


# -- the oracle: what an application could have written ----------------------------------------

_PLAIN = (
    str,
    bytes,
    bytearray,
    bool,
    int,
    float,
    type(None),
    datetime,
    date,
    time,
    timedelta,
    timezone,
    UUID,
    Decimal,
    PurePath,
    Pattern,
    ZoneInfo,
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
)


def assert_app_value(value: Any, depth: int = 0) -> None:
    assert depth < 200, "absurdly deep value"
    cls = type(value)
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, (list, tuple, set, frozenset, deque)) and (
        cls in (list, tuple, set, frozenset, deque)
    ):
        for item in value:
            assert_app_value(item, depth + 1)
        return
    if cls is dict:
        for k, v in value.items():
            assert_app_value(k, depth + 1)
            assert_app_value(v, depth + 1)
        return
    if cls is _DeltaSnapshot:
        assert_app_value(value.value, depth + 1)
        return
    key = (cls.__module__, cls.__name__)
    if key in SAFE_MSGPACK_TYPES or cls.__module__.startswith("langchain_core.messages"):
        return  # built by its own validating constructor
    assert app_state_class(*key) is cls, f"{key} is neither plain data nor an app state type"
    if isinstance(value, Enum):
        return
    if isinstance(value, tuple):
        fields: Any = list(value)
    elif dataclasses.is_dataclass(value):
        fields = [getattr(value, f.name, None) for f in dataclasses.fields(value)]
    else:
        fields = list(vars(value).values())
    for item in fields:
        assert_app_value(item, depth + 1)


def read_everything(db_path: Path | str) -> None:
    with SharedMemorySaver(db_path, max_decompressed_bytes=LIMIT) as saver:
        for thread_id in THREADS:
            config = {"configurable": {"thread_id": thread_id}}
            for checkpoint in saver.list(config):
                assert_app_value(checkpoint.checkpoint["channel_values"])
                assert_app_value(checkpoint.pending_writes)
                assert_app_value(checkpoint.metadata)
            latest = saver.get_tuple(config)
            assert latest is not None
            assert_app_value(latest.checkpoint)
            history = saver.get_delta_channel_history(config=config, channels=["log", "plans"])
            assert_app_value({k: dict(v) for k, v in history.items()})


# -- the properties ---------------------------------------------------------------------------


def _fresh_copy(workdir: Path) -> Path:
    path = workdir / "attacked.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(workdir / "pristine.db") as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return path


def test_the_pristine_database_reads_back_as_app_values(workdir: Path) -> None:
    read_everything(_fresh_copy(workdir))


@settings(settings.get_profile("adversarial"))
@given(crafted=st.lists(attacks(), min_size=1, max_size=3))
def test_crafted_rows_never_run_import_or_inflate(
    workdir: Path, crafted: list[tuple[str, tuple[Any, ...]]]
) -> None:
    read_everything(_fresh_copy(workdir))  # warm: later imports are the attack's
    modules_before = set(sys.modules)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    path = _fresh_copy(workdir)
    with sqlite3.connect(path) as conn:
        for sql, params in crafted:
            conn.execute(sql, params)
    conn.close()
    with contextlib.suppress(SharedMemoryError):  # a clear, named refusal is fine
        read_everything(path)
    assert set(sys.modules) == modules_before
    assert CANARY not in sys.modules
    assert not any(m.exists() for m in _markers(workdir))
    # ru_maxrss is in kB: a bomb inflating past the limit would add hundreds of MB.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 200 * 1024


def _on_postgres(sql: str) -> str:
    """An attack's UPDATE in PostgreSQL's words: the row picked by its ctid (there is no
    rowid), ``%%`` for the modulo, and no offset (not a division by zero) in an empty table."""
    sql = re.sub(r"\(SELECT count\(\*\) FROM [^()]*\)", r"NULLIF(\g<0>, 0)", sql)
    return sql.replace("rowid", "ctid").replace("?", "%s").replace(" % ", " %% ")


@pytest.fixture(scope="module")
def pristine_postgres(workdir: Path, postgres_url: str) -> Iterator[str]:
    """The pristine database copied to PostgreSQL, a template each example is cloned from."""
    from langgraph_sharedmem.cli import copy_database

    with fresh_database(postgres_url) as url:
        report = copy_database(workdir / "pristine.db", url)
        assert report.ok, report.tables
        yield url


@settings(settings.get_profile("adversarial"), max_examples=POSTGRES_EXAMPLES)
@given(crafted=st.lists(attacks(), min_size=1, max_size=3))
def test_crafted_rows_on_postgresql_never_run_import_or_inflate(
    pristine_postgres: str, crafted: list[tuple[str, tuple[Any, ...]]]
) -> None:
    """The same attacks on PostgreSQL, whose reads decode the rows' binary results
    themselves (`_schema_pg.select_tuple`): a database cloned from the pristine one each."""
    import psycopg

    server, template = pristine_postgres.rsplit("/", 1)
    with fresh_database(f"{server}/postgres", template=template) as url:
        read_everything(url)  # warm: later imports are the attack's
        modules_before = set(sys.modules)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with psycopg.connect(url, autocommit=True) as conn:
            for sql, params in crafted:
                # What PostgreSQL's typed columns refuse (a NUL in text, a float for bytes) no
                # attacker can write there either.
                with contextlib.suppress(psycopg.DataError, psycopg.errors.DatatypeMismatch):
                    conn.execute(_on_postgres(sql), params)
        with contextlib.suppress(SharedMemoryError):
            read_everything(url)
    assert set(sys.modules) == modules_before
    assert CANARY not in sys.modules
    assert not any(m.exists() for m in _markers(_WORK["root"]))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 200 * 1024


def test_a_one_gigabyte_bomb_is_refused_at_the_default_limit(workdir: Path) -> None:
    """1 MB of stored zlib that inflates to 1 GB: refused at 256 MiB, well before 1 GB."""
    deflater = zlib.compressobj(9)
    chunk = b"\0" * (1 << 20)
    bomb = b"".join(deflater.compress(chunk) for _ in range(1024)) + deflater.flush()
    assert len(bomb) < 2 * 1024 * 1024
    path = _fresh_copy(workdir)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE channel_values SET type = 'msgpack|zlib', value = ? WHERE kind = 'value'",
            (bomb,),
        )
    conn.close()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with (
        SharedMemorySaver(path) as saver,
        pytest.raises(UnsafeDeserializationError, match="max_decompressed_bytes"),
    ):
        saver.get_tuple({"configurable": {"thread_id": "typed"}})
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 600 * 1024


@pytest.mark.parametrize(
    "elements",
    [[["msgpack", None]], [["msgpack", 7]], [["msgpack", "text"]], [["msgpack"]], [[1, b""]]],
    ids=["nil", "int", "str", "short", "type-not-str"],
)
def test_a_list_segment_of_odd_pairs_is_refused_as_damage(elements: list[Any]) -> None:
    # Found by a randomized run: a nil element's bytes reached len() later, a raw TypeError.
    with pytest.raises(DatabaseFileError, match="not a list of \\[type, bytes\\] pairs"):
        _lists.unpack(ormsgpack.packb(elements))

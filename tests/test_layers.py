"""The package's layering, read from its imports and its SQL (see ``core/__init__.py``).

* ``core/`` imports no part and nothing above: it is the base every part builds on.
* A part imports no layer above it, and no module imports another part's private modules
  (``_schema``, ``_core``...) or private names: what one needs from a part goes through that
  part's API.
* No module outside a part's folder writes SQL naming that part's tables; a part exposes the
  reads others need. Each part's tables are found by applying its migrations to an empty
  database, so a new table is covered without editing this file.
"""

from __future__ import annotations

import ast
import importlib
import re
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from sqlite_utils.migrations import Migrations

PACKAGE = Path(__file__).resolve().parents[1] / "langgraph_sharedmem"
NAME = "langgraph_sharedmem"
PARTS = ("checkpoint", "store", "facts", "agents", "registry", "conversation", "toolcache")
# What the core may import besides itself: the package's exceptions.
BASE = ("core", "errors")
# Modules reading tables of the same names in another application's file (a LangGraph
# SqliteSaver being imported), not this package's.
FOREIGN_FILE_READERS = {"cli/_import.py"}

_SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA|JOIN)\b")


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _layer(rel: str) -> str:
    """The top folder (or module) of a file: ``facts`` for ``facts/_core.py``."""
    return rel.split("/", 1)[0].removesuffix(".py")


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports under ``if TYPE_CHECKING:`` (no run-time dependency)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    lines.add(getattr(sub, "lineno", -1))
    return lines


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, dotted module)`` of every run-time import of this package in ``path``; a
    name imported from a package counts as its submodule when one of that name exists."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_only(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith(NAME)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not node.module.startswith(NAME):
                continue
            base = PACKAGE.parent / node.module.replace(".", "/")
            for alias in node.names:
                sub = base / alias.name
                is_module = sub.with_suffix(".py").exists() or (sub / "__init__.py").exists()
                found.append(
                    (node.lineno, f"{node.module}.{alias.name}" if is_module else node.module)
                )
    return found


def _violations(check) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for path in _modules():
        rel = _rel(path)
        for line, module in _imports(path):
            problem = check(rel, module.split(".")[1:])
            if problem:
                out.append(f"{rel}:{line} imports {module}: {problem}")
    return out


def test_the_core_imports_no_part() -> None:
    def check(rel: str, target: list[str]) -> str | None:
        if _layer(rel) != "core":
            return None
        if not target or target[0] not in BASE:
            return "the core may import only itself and errors"
        return None

    assert _violations(check) == []


def test_parts_use_only_each_others_public_modules() -> None:
    def check(rel: str, target: list[str]) -> str | None:
        here = _layer(rel)
        if rel == "__init__.py":  # the package root maps public names to their modules
            return None
        if not target:
            return (
                "the package root (lazy public API) from inside the package"
                if (here in PARTS or here == "core")
                else None
            )
        there = target[0]
        above = there not in (*PARTS, "core", "errors", "serde") and not there.startswith("_")
        if here in PARTS and above:
            return f"a part may not depend on the layer above ({there})"
        if there in PARTS and there != here and any(p.startswith("_") for p in target[1:]):
            return f"a private module of the {there} part; use its public API"
        return None

    assert _violations(check) == []


def test_no_module_uses_a_private_name_of_another_part() -> None:
    found = []
    for path in _modules():
        rel = _rel(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith(NAME)):
                continue
            there = (node.module or "").split(".")[1:2]
            if there and there[0] in PARTS and there[0] != _layer(rel):
                found += [
                    f"{rel}:{node.lineno} imports {a.name} from {node.module}"
                    for a in node.names
                    if a.name.startswith("_")
                    and not (
                        PACKAGE.parent / node.module.replace(".", "/") / f"{a.name}.py"
                    ).exists()
                ]
    assert found == []


def _migration_sets() -> dict[str, list[Migrations]]:
    """Each part's own migration sets: those its modules create (``Migrations("...")``)."""
    owner: dict[str, str] = {}
    for path in _modules():
        part = _layer(_rel(path))
        if part not in PARTS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func).endswith("Migrations")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                owner[node.args[0].value] = part
    sets: dict[str, list[Migrations]] = {}
    for name, part in owner.items():
        for module in (f"{NAME}.{part}", *_submodules(part)):
            for value in vars(importlib.import_module(module)).values():
                known = sets.setdefault(part, [])
                if isinstance(value, Migrations) and value.name == name and value not in known:
                    known.append(value)
    return sets


def _submodules(part: str) -> list[str]:
    return [
        f"{NAME}.{part}.{p.stem}"
        for p in sorted((PACKAGE / part).glob("*.py"))
        if p.stem != "__init__"
    ]


def _tables(db: sqlite_utils.Database) -> set[str]:
    return {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _owned_tables() -> dict[str, set[str]]:
    """Each part's tables: those its migrations add to a database holding every other set
    (a step may rely on another part's tables), plain SQLite, so this runs on any version."""
    sets = _migration_sets()
    owned: dict[str, set[str]] = {}
    for part, mine in sets.items():
        db = sqlite_utils.Database(sqlite3.connect(":memory:"))
        try:
            for other, theirs in sets.items():
                for m in theirs if other != part else ():
                    m.apply(db)
            before = _tables(db)
            for m in mine:
                m.apply(db)
            owned[part] = {n for n in _tables(db) - before if not n.startswith(("sqlite_", "_"))}
        finally:
            db.close()
    return owned


def test_every_part_has_tables() -> None:
    owned = _owned_tables()
    assert sorted(owned) == sorted(PARTS)
    assert all(owned.values()), owned
    assert "fact_claims" in owned["facts"] and "mem_items" in owned["store"]


def _sql_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    out = []
    for node in ast.walk(tree):
        if id(node) in docstrings:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            out.append((node.lineno, text))
    return [(line, text) for line, text in out if _SQL.search(text)]


def test_no_module_queries_another_parts_tables() -> None:
    owned = _owned_tables()
    patterns = {
        # a table where SQL names one: after FROM, JOIN, INTO, UPDATE, TABLE, or quoted
        part: re.compile(
            r"(?:\b(?:FROM|JOIN|INTO|UPDATE|TABLE|table_info)[\s(]+['\"]?|')("
            + "|".join(sorted(tables))
            + r")\b"
        )
        for part, tables in owned.items()
    }
    found = []
    for path in _modules():
        rel = _rel(path)
        if rel in FOREIGN_FILE_READERS:
            continue
        for line, text in _sql_strings(path):
            for part, pattern in patterns.items():
                if _layer(rel) == part:
                    continue
                for match in sorted(set(pattern.findall(text))):
                    found.append(f"{rel}:{line} names {part}'s table {match}")
    assert found == []


@pytest.mark.parametrize("rule", ["core", "parts", "sql"])
def test_a_violation_is_caught(rule: str, tmp_path: Path) -> None:
    """The checks see what they are meant to see (guards against a vacuous pass)."""
    if rule == "sql":
        text = 'X = "SELECT value FROM fact_claims WHERE id = ?"\n'
        path = tmp_path / "m.py"
        path.write_text(text)
        assert _sql_strings(path) and "fact_claims" in _owned_tables()["facts"]
    else:
        path = tmp_path / "m.py"
        path.write_text(f"from {NAME}.facts import _schema\nfrom {NAME}.store._search import x\n")
        modules = [m for _, m in _imports(path)]
        assert modules == [f"{NAME}.facts._schema", f"{NAME}.store._search"]

"""Printing the inspector's data: rich tables for people, one JSON document for scripts."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

__all__ = ["cell", "emit_json", "progress", "record", "table"]

MAX_CELL = 80


def _console(stderr: bool = False) -> Console:
    # Made per call: click's test runner swaps sys.stdout, and a Console binds the current one.
    console = Console(stderr=stderr, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 160  # piped output: rich would assume 80 columns and fold every cell
    return console


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def cell(value: Any, *, wide: bool = False) -> str:
    """A value as one table cell: text as is, anything else as compact JSON, cut at 80."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "yes" if value else ""
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if not wide and len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "…"
    return text


def table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    empty: str = "nothing to show",
    wide: bool = False,
) -> None:
    """Rows as a table with these columns (keys of each row), or ``empty`` when none."""
    console = _console()
    if not rows:
        console.print(f"[dim]{empty}[/dim]")
        return
    t = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        t.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        t.add_row(*(cell(row.get(c), wide=wide) for c in columns), end_section=False)
    console.print(t)


def record(data: dict[str, Any], *, title: str | None = None, wide: bool = True) -> None:
    """One object as a two-column key / value table."""
    t = Table(title=title, show_header=False)
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")
    for key, value in data.items():
        t.add_row(key.replace("_", " "), cell(value, wide=wide))
    _console().print(t)


def say(text: str) -> None:
    _console().print(text)


@contextmanager
def progress(description: str, total: int | None, *, enabled: bool) -> Iterator[Any]:
    """A progress bar on stderr; yields ``advance(n)``. Off for ``--json`` output."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_console(stderr=True),
        disable=not enabled,
        transient=False,
    )
    with bar:
        task = bar.add_task(description, total=total)

        def advance(n: int) -> None:
            bar.advance(task, n)

        yield advance

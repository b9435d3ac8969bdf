"""The public API is documented: every exported name has a docstring, and docs/api.md is the
current output of scripts/gen_api_docs.py (regenerate it when the API changes)."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import langgraph_sharedmem as pkg

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_api_docs", ROOT / "scripts" / "gen_api_docs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_exported_name_exists_and_has_a_docstring():
    undocumented = [
        name
        for name in pkg.__all__
        if (callable(getattr(pkg, name)) and not inspect.getdoc(getattr(pkg, name)))
    ]
    assert undocumented == []
    assert len(set(pkg.__all__)) == len(pkg.__all__)


def test_api_reference_is_current():
    generated = _generator().render()
    assert (ROOT / "docs" / "api.md").read_text(encoding="utf-8") == generated, (
        "docs/api.md is out of date: run python scripts/gen_api_docs.py"
    )

"""The package is publishable: `make dist`'s wheel builds without warnings and installs whole."""

from __future__ import annotations

import email
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import langgraph_sharedmem

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-v",
            "--no-deps",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = out.glob("langgraph_sharedmem-*.whl")
    return built, done.stdout + done.stderr


def test_wheel_builds_without_deprecation_warnings(wheel: tuple[Path, str]) -> None:
    _, log = wheel
    warned = [line for line in log.splitlines() if "deprecat" in line.lower()]
    assert warned == [], warned


def test_wheel_metadata_is_publishable(wheel: tuple[Path, str]) -> None:
    built, _ = wheel
    with zipfile.ZipFile(built) as zf:
        names = zf.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(zf.read(meta_name))
    assert meta["Version"] == langgraph_sharedmem.__version__
    assert meta["License-Expression"] == "MIT"
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert "Typing :: Typed" in meta.get_all("Classifier")
    assert "langgraph_sharedmem/py.typed" in names
    packages = {
        p.parent.relative_to(ROOT).as_posix()
        for p in ROOT.glob("langgraph_sharedmem/**/__init__.py")
    }
    shipped = {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")}
    assert packages <= shipped, f"subpackages missing from the wheel: {packages - shipped}"


def test_installed_wheel_imports_outside_the_clone(wheel: tuple[Path, str], tmp_path: Path) -> None:
    built, _ = wheel
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(built),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = (
        "import langgraph_sharedmem as m, pathlib; "
        "print(m.__version__, pathlib.Path(m.__file__).resolve().is_relative_to(site))"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys, pathlib; site = pathlib.Path(r'{target.resolve()}'); "
            f"sys.path.insert(0, str(site)); {probe}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == [langgraph_sharedmem.__version__, "True"]

"""The native contract: stubs name exactly the public names of each compiled module, the event record's
NumPy mirror matches the C struct, and the package imports without heavy dependencies."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import shrivenquant._native as native_pkg
from shrivenquant._native.events import count_kinds, record_constants, record_layout
from shrivenquant.core.enums import BookSide
from shrivenquant.core.events import EVENT_DTYPE, EVENT_FIELDS, EventFlag, EventKind, empty_events
from shrivenquant.errors import ValidationError

NATIVE_DIR = Path(native_pkg.__file__).parent
SOURCES = Path(__file__).resolve().parents[1] / "src" / "_native"


def _compiled_modules() -> list[str]:
    names = sorted({p.name.split(".")[0] for p in NATIVE_DIR.iterdir() if p.suffix in (".so", ".pyd")})
    assert names, "no compiled modules found: was the package built?"
    return names


def _stub_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in names if not n.startswith("_")}


def _runtime_public_names(module: object) -> set[str]:
    out = set()
    for name in dir(module):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        if isinstance(obj, type(sys)):  # imported modules (decimal, ...)
            continue
        if getattr(obj, "__module__", module.__name__) not in (module.__name__, "builtins") and callable(obj):
            continue  # names imported from elsewhere (errors, IntEnum)
        out.add(name)
    return out


def test_every_pyx_is_compiled_and_stubbed() -> None:
    pyx = sorted(p.stem for p in SOURCES.glob("*.pyx")) if SOURCES.exists() else _compiled_modules()
    assert _compiled_modules() == pyx
    for name in pyx:
        assert (NATIVE_DIR / f"{name}.pyi").exists(), f"missing stub for shrivenquant._native.{name}"
    assert (NATIVE_DIR.parent / "py.typed").exists()


@pytest.mark.parametrize("name", _compiled_modules())
def test_stub_names_match_module(name: str) -> None:
    module = importlib.import_module(f"shrivenquant._native.{name}")
    assert module.__name__ == f"shrivenquant._native.{name}"
    assert _stub_names(NATIVE_DIR / f"{name}.pyi") == _runtime_public_names(module)


def test_stubtest_agrees_with_compiled_modules() -> None:
    pytest.importorskip("mypy")
    mods = [f"shrivenquant._native.{n}" for n in _compiled_modules()]
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", *mods], check=False, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_event_dtype_mirrors_c_struct() -> None:
    layout = record_layout()
    assert EVENT_DTYPE.itemsize == layout["itemsize"] == 64
    assert list(EVENT_DTYPE.names) == list(layout["fields"])
    for name, fmt, offset in EVENT_FIELDS:
        c_offset, c_size = layout["fields"][name]
        dt, np_offset = EVENT_DTYPE.fields[name][:2]
        assert (np_offset, dt.itemsize) == (c_offset, c_size) == (offset, np.dtype(fmt).itemsize), name


def test_event_constants_match_header() -> None:
    consts = record_constants()
    for kind in EventKind:
        assert consts[f"EV_{kind.name}"] == kind.value
    assert consts["EV_KIND_MAX"] == max(EventKind)
    for flag in EventFlag:
        if flag.name != "NONE":
            assert consts[f"F_{flag.name}"] == flag.value
    for side in BookSide:
        assert consts[f"SIDE_{side.name}"] == side.value


def test_native_reads_numpy_records() -> None:
    ev = empty_events(5)
    ev["kind"] = [EventKind.LEVEL, EventKind.TRADE, EventKind.TRADE, EventKind.BBO, EventKind.MARK]
    assert count_kinds(ev.view(np.uint8)) == [0, 1, 0, 0, 0, 0, 0, 2, 1, 1]
    assert (ev["price"] == np.iinfo(np.int64).min).all()
    with pytest.raises(ValueError, match="whole number"):
        count_kinds(np.zeros(65, dtype=np.uint8))
    with pytest.raises(ValidationError):
        empty_events(-1)


def test_import_stays_light() -> None:
    code = (
        "import sys, shrivenquant; from shrivenquant import Price, Quantity, Money, errors; "
        "heavy = [m for m in ('pandas', 'pyarrow', 'matplotlib', 'websockets', 'numba', 'uvloop') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"heavy modules on the import path: {out.stdout}"

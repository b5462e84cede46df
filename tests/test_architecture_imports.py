"""Stages talk only through files: no stage package imports another stage package.

A stage is a subpackage of ``r1interp`` with a CLI entry (``__main__.py``) or a rules file
(``rules/<name>.smk``). Stages may import the floor (the shared modules below) and themselves;
the floor imports only the floor; the top modules (the CLI dispatcher, the notebook API) may
import anything and are imported by nothing in the package. Every module must be one of the three,
so a new shared module is placed on the floor on purpose, not by accident.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "r1interp"
RULES = ROOT / "rules"

# the shared floor: file contracts, shared science code, model access, config and small helpers
FLOOR = {"artifacts", "core", "models", "config", "utils", "guardrails", "cliargs"}
# entry points over every stage; nothing inside the package imports them
TOP = {"cli", "notebook_api"}


def _unit(path: Path) -> str:
    """The top-level unit of ``r1interp`` a file belongs to (``heads`` for heads/run.py, ``models`` for models.py)."""
    rel = path.relative_to(PKG)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _stages() -> set[str]:
    return {p.name for p in PKG.iterdir()
            if (p / "__init__.py").is_file() and ((p / "__main__.py").is_file() or (RULES / f"{p.name}.smk").is_file())}


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_units(source: str, path: Path) -> list[tuple[int, str]]:
    """``(line, unit)`` for every ``r1interp`` unit a module imports (relative imports resolved, function-level ones included)."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name.split(".") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = base + (node.module.split(".") if node.module else [])
            names = [mod + [a.name] for a in node.names] if len(mod) == 1 else [mod]
        else:
            continue
        out += [(node.lineno, n[1]) for n in names if len(n) > 1 and n[0] == "r1interp"]
    return out


def violations(source: str, path: Path, stages: set[str]) -> list[str]:
    """Imports that break the layering, as ``file:line: unit imports unit``."""
    me = _unit(path)
    bad = []
    for line, unit in imported_units(source, path):
        if unit == me:
            continue
        if unit in TOP:
            ok = False
        elif me in FLOOR:
            ok = unit in FLOOR
        elif me in stages:
            ok = unit in FLOOR
        else:
            ok = True  # TOP
        if not ok:
            bad.append(f"{path.relative_to(PKG.parent)}:{line}: {me} imports {unit}")
    return bad


def test_every_module_is_stage_floor_or_top():
    stages = _stages()
    units = {_unit(p) for p in PKG.rglob("*.py")} - {"__init__"}
    assert not stages & FLOOR, f"floor units must not be stages (no __main__.py or rules file): {sorted(stages & FLOOR)}"
    unplaced = sorted(units - stages - FLOOR - TOP)
    assert not unplaced, f"place these in FLOOR or TOP of {Path(__file__).name}, or give them a CLI entry: {unplaced}"
    assert {"heads", "patching", "graphs", "transcoders", "evaluate", "sweep"} <= stages


def test_no_stage_imports_another_stage():
    stages = _stages()
    bad = [v for p in sorted(PKG.rglob("*.py")) for v in violations(p.read_text(), p, stages)]
    assert not bad, "stage-to-stage (or floor-to-stage) imports:\n" + "\n".join(bad)


@pytest.mark.parametrize("source, where, expect", [
    ("from r1interp.heads.common import Trace\n", "patching/run.py", ["patching imports heads"]),
    ("def f():\n    from ..heads import run\n", "patching/run.py", ["patching imports heads"]),
    ("import r1interp.graphs.adapter\n", "models.py", ["models imports graphs"]),
    ("from r1interp import notebook_api\n", "heads/run.py", ["heads imports notebook_api"]),
    ("from r1interp.artifacts.write import write_json\nfrom .common import x\n", "heads/run.py", []),
    ("from r1interp.motifs.loader import parse\n", "notebook_api.py", []),
])
def test_the_walk_sees_every_import_form(source, where, expect):
    stages = _stages()
    got = violations(source, PKG / where, stages)
    assert [g.split(": ", 1)[1] for g in got] == expect

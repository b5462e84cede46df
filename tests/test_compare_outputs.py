"""scripts/compare_outputs.py: two runs' results compared by content, run-dependent fields listed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compare_outputs.py"


def write_run(root: Path, *, loss: float, seconds: float, png: bytes) -> None:
    r = root / "results" / "m"
    r.mkdir(parents=True)
    pd.DataFrame({"layer": [0, 1], "loss": [0.5, loss], "train_seconds": [seconds, seconds]}).to_parquet(r / "t.parquet")
    (r / "s.json").write_text(json.dumps({"n": 3, "wall_s": seconds, "dir": str(root.resolve() / "results"), "xs": [1.0, 2.0]}))
    (r / "p.png").write_bytes(png)


def run(a: Path, b: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(a), str(b)], capture_output=True, text=True, timeout=120)


def test_runs_equal_up_to_timings_and_paths(tmp_path):
    write_run(tmp_path / "a", loss=0.25, seconds=1.0, png=b"x")
    write_run(tmp_path / "b", loss=0.25, seconds=9.0, png=b"x")
    proc = run(tmp_path / "a", tmp_path / "b")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "parquet identical: 1" in proc.stdout and "data identical: 1" in proc.stdout and "bytes identical: 1" in proc.stdout
    for name in ("train_seconds  (1 file, e.g. m/t.parquet)", "wall_s  (1 file, e.g. m/s.json)", "dir (absolute path)  (1 file"):
        assert name in proc.stdout, proc.stdout


def test_a_changed_value_a_changed_file_and_a_missing_one_are_shown(tmp_path):
    write_run(tmp_path / "a", loss=0.25, seconds=1.0, png=b"x")
    write_run(tmp_path / "b", loss=0.5, seconds=1.0, png=b"y")
    (tmp_path / "b/results/m/extra.json").write_text("{}")
    proc = run(tmp_path / "a", tmp_path / "b")
    assert proc.returncode == 1
    assert "loss: 1 of 2 rows differ, max |diff| 0.25" in proc.stdout
    assert "bytes differ: 1" in proc.stdout and "only in after: 1" in proc.stdout and "m/extra.json" in proc.stdout

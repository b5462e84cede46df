#!/usr/bin/env python
"""Compare the outputs of two workflow runs (e.g. a smoke run before and after a refactor).

    python scripts/compare_outputs.py /tmp/h15-before /tmp/h15-after [--results results] [--show 8]

Every file under ``<run>/<results>`` is compared: parquet by content (pandas; column order, row
order, dtypes and values), SQLite by the content of each table, JSON/JSONL/YAML as data, every other
file byte for byte (sha256). Only fields that legitimately differ between runs are left out, and
the script lists each one it met: timings and rates (keys/columns named like ``*seconds``, ``*_s``,
``wall*``, ``elapsed*``, ``*time*``, ``timestamp``, ``created*``, ``date``, ``*per_second``),
memory peaks (``peak_rss*``), the transcoder checkpoint's stamp of the model weight files
(``model_weights``: size and mtime, and the resume ``fingerprint`` hashed from it) and absolute
paths (the run directory is replaced by ``<RUN>``). Exit status: 0 when everything else is
identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

RUN_DEPENDENT = re.compile(
    r"(seconds|secs|_s$|^wall|elapsed|time|timestamp|created|^date$|duration|per_second|peak_rss|^model_weights$|^fingerprint$)", re.I
)
DATA_SUFFIXES = {".json", ".jsonl", ".yaml", ".yml"}
SQLITE_SUFFIXES = {".sqlite", ".sqlite3", ".db"}


def read_sqlite(path: Path) -> dict[str, pd.DataFrame]:
    """Every table of a SQLite file, rows in rowid order where there is one."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        names = [r[0] for r in con.execute("select name from sqlite_master where type = 'table' order by name")]
        return {n: pd.read_sql_query(f'select * from "{n}"', con) for n in names}


def diff_sqlite(a: Path, b: Path, ra: str, rb: str, ignored: set[str], rel: str) -> list[str]:
    ta, tb = read_sqlite(a), read_sqlite(b)
    for tables in (ta, tb):  # key/value tables (e.g. meta): drop the run-dependent keys' rows
        for name, df in tables.items():
            if df.shape[1] == 2 and pd.api.types.is_string_dtype(df.iloc[:, 0]):
                drop = df.iloc[:, 0].map(lambda k: bool(RUN_DEPENDENT.search(str(k))))
                ignored.update(f"{rel}:{name}.{k}" for k in df.iloc[:, 0][drop])
                tables[name] = df[~drop].reset_index(drop=True)
    if list(ta) != list(tb):
        return [f"tables {list(ta)} → {list(tb)}"]
    return [f"{name}.{d}" for name in ta
            for d in diff_frames(scrub_frame(ta[name], ra, ignored, f"{rel}:{name}"), scrub_frame(tb[name], rb, ignored, f"{rel}:{name}"))]


def scrub(value: Any, root: str, ignored: set[str], path: str = "") -> Any:
    """``value`` without run-dependent keys, with ``root`` replaced by ``<RUN>`` in strings."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if RUN_DEPENDENT.search(str(k)):
                ignored.add(f"{path}{k}")
                continue
            out[k] = scrub(v, root, ignored, f"{path}{k}.")
        return out
    if isinstance(value, list):
        return [scrub(v, root, ignored, f"{path}[]") for v in value]
    if isinstance(value, str) and root in value:
        ignored.add(f"{path.rstrip('.')} (absolute path)")
        return value.replace(root, "<RUN>")
    return value


def load_data(path: Path) -> Any:
    text = path.read_text()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.safe_load(text)


def diff_data(a: Any, b: Any, path: str = "", out: list[str] | None = None) -> list[str]:
    """Paths where two JSON-like values differ (floats compared exactly; NaN equals NaN)."""
    out = [] if out is None else out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}{k}: only in {'after' if k not in a else 'before'}")
            else:
                diff_data(a[k], b[k], f"{path}{k}.", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path.rstrip('.')}: length {len(a)} → {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            diff_data(x, y, f"{path}[{i}].", out)
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        pass
    elif a != b or type(a) is not type(b):
        out.append(f"{path.rstrip('.')}: {a!r:.80} → {b!r:.80}")
    return out


def scrub_frame(df: pd.DataFrame, root: str, ignored: set[str], name: str) -> pd.DataFrame:
    drop = [c for c in df.columns if RUN_DEPENDENT.search(str(c))]
    ignored.update(f"{name}:{c}" for c in drop)
    df = df.drop(columns=drop)
    for c in df.columns:
        if pd.api.types.is_string_dtype(df[c]) and df[c].map(lambda v: isinstance(v, str) and root in v).any():
            ignored.add(f"{name}:{c} (absolute path)")
            df[c] = df[c].map(lambda v: v.replace(root, "<RUN>") if isinstance(v, str) else v)
    return df


def diff_frames(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    if list(a.columns) != list(b.columns):
        return [f"columns {list(a.columns)} → {list(b.columns)}"]
    if len(a) != len(b):
        return [f"rows {len(a)} → {len(b)}"]
    out = []
    for c in a.columns:
        x, y = a[c], b[c]
        if x.dtype != y.dtype:
            out.append(f"{c}: dtype {x.dtype} → {y.dtype}")
            continue
        same = x.reset_index(drop=True).equals(y.reset_index(drop=True))
        if same:
            continue
        try:
            bad = ~((x.values == y.values) | (pd.isna(x).values & pd.isna(y).values))
        except (ValueError, TypeError):  # nested values (lists/arrays): compare as text
            bad = (x.astype(str).values != y.astype(str).values)
        n = int(bad.sum()) if hasattr(bad, "sum") else len(x)
        detail = ""
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            detail = f", max |diff| {float((x - y).abs().max()):.3g}"
        if n or detail:
            out.append(f"{c}: {n} of {len(x)} rows differ{detail}")
    return out


def sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def compare(before: Path, after: Path, results: str, show: int) -> int:
    ra, rb = before / results, after / results
    files_a = {p.relative_to(ra) for p in ra.rglob("*") if p.is_file()}
    files_b = {p.relative_to(rb) for p in rb.rglob("*") if p.is_file()}
    ignored: set[str] = set()
    status: dict[str, list[str]] = defaultdict(list)
    details: dict[str, list[str]] = {}
    for rel in sorted(files_a | files_b):
        if rel not in files_a or rel not in files_b:
            status["only in " + ("after" if rel not in files_a else "before")].append(str(rel))
            continue
        a, b = ra / rel, rb / rel
        kind = ("parquet" if rel.suffix == ".parquet" else "data" if rel.suffix in DATA_SUFFIXES
                else "sqlite" if rel.suffix in SQLITE_SUFFIXES else "bytes")
        try:
            if kind == "parquet":
                diffs = diff_frames(scrub_frame(pd.read_parquet(a), str(before.resolve()), ignored, str(rel)),
                                    scrub_frame(pd.read_parquet(b), str(after.resolve()), ignored, str(rel)))
            elif kind == "sqlite":
                diffs = diff_sqlite(a, b, str(before.resolve()), str(after.resolve()), ignored, str(rel))
            elif kind == "data":
                diffs = diff_data(scrub(load_data(a), str(before.resolve()), ignored, f"{rel}:"),
                                  scrub(load_data(b), str(after.resolve()), ignored, f"{rel}:"))
            else:
                diffs = [] if sha256(a) == sha256(b) else ["bytes differ"]
        except Exception as e:  # one unreadable file is reported, the rest still compared
            diffs = [f"could not compare: {type(e).__name__}: {e}"]
        status[f"{kind} {'identical' if not diffs else 'differ'}"].append(str(rel))
        if diffs:
            details[str(rel)] = diffs

    print(f"compared {before}/{results} (before) with {after}/{results} (after)\n")
    for key in sorted(status):
        print(f"{key}: {len(status[key])}")
    for key in sorted(k for k in status if "differ" in k or "only" in k):
        print(f"\n== {key} ==")
        for rel in status[key]:
            print(f"  {rel}")
            for line in details.get(rel, [])[:show]:
                print(f"      {line}")
            if len(details.get(rel, [])) > show:
                print(f"      ... {len(details[rel]) - show} more")
    print("\n== left out as run-dependent (timings, absolute paths): field, in how many files, e.g. ==")
    by_field: dict[str, list[str]] = defaultdict(list)
    for name in ignored:
        file, _, field = name.partition(":")
        by_field[field].append(file)
    for field, files in sorted(by_field.items()):
        print(f"  {field}  ({len(files)} file{'s' if len(files) > 1 else ''}, e.g. {sorted(files)[0]})")
    return 1 if any("differ" in k or "only" in k for k in status) else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path, help="workflow directory of the first run")
    ap.add_argument("after", type=Path, help="workflow directory of the second run")
    ap.add_argument("--results", default="results", help="results folder inside each run directory")
    ap.add_argument("--show", type=int, default=8, help="differences shown per file")
    args = ap.parse_args(argv)
    for d in (args.before, args.after):
        if not (d / args.results).is_dir():
            ap.error(f"{d / args.results}: not a directory")
    return compare(args.before, args.after, args.results, args.show)


if __name__ == "__main__":
    sys.exit(main())

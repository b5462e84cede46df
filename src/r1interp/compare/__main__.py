"""CLI of the comparison stage.

``r1interp compare run --model NAME=results/NAME/motifs [...] [--graph-index NAME=results/NAME/graphs/index.parquet ...]
[--external NAME=DIR ...] --pairs '[{"reasoner": "...", "base": "..."}]' --params '<compare config JSON>' --out-dir results/compare``

Each ``DIR`` holds the motif stage's ``profiles.parquet``, ``ffl_instances.parquet`` and
``graphs.parquet``; a model's graph index lists the prompts without graphs (unfinished traces),
which the correct-vs-incorrect table counts. Outputs: see :mod:`r1interp.compare.pipeline`. Everything is read and checked
before the first output is written.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from r1interp.compare.pipeline import CompareConfig, CompareConfigError, load_source, run_compare
from r1interp.utils import setup_logging

log = logging.getLogger("r1interp.compare")


def _named(values: list[str], flag: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"{flag}: expected NAME={'PATH' if flag == '--graph-index' else 'DIR'}, got {v!r}")
        if name in out:
            raise SystemExit(f"{flag}: {name!r} given twice")
        out[name] = Path(path)
    return out


def _json(text: str, flag: str, kind: type):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise SystemExit(f"{flag}: not valid JSON ({e})")
    if not isinstance(value, kind):
        raise SystemExit(f"{flag}: must be a JSON {kind.__name__}, got {value!r}")
    return value


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="r1interp compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="all comparisons, tables, summary and plots")
    r.add_argument("--model", action="append", default=[], help="NAME=DIR of a model's motif tables (repeat)")
    r.add_argument("--graph-index", action="append", default=[], help="NAME=PATH of a model's graphs/index.parquet (repeat)")
    r.add_argument("--external", action="append", default=[], help="NAME=DIR of an external collection's motif tables (repeat)")
    r.add_argument("--pairs", default="[]", help="JSON list of {reasoner, base} (config run.pairs)")
    r.add_argument("--params", default="{}", help="the compare config section as JSON")
    r.add_argument("--out-dir", required=True, type=Path)
    args = ap.parse_args(argv)
    setup_logging()

    models = _named(args.model, "--model")
    indexes = _named(args.graph_index, "--graph-index")
    stray = sorted(set(indexes) - set(models))
    if stray:
        raise SystemExit(f"--graph-index: {stray} not among --model names {sorted(models)}")
    externals = _named(args.external, "--external")
    if not models and not externals:
        raise SystemExit("give at least one --model or --external")
    clash = sorted(set(models) & set(externals))
    if clash:
        raise SystemExit(f"--external: names {clash} are also models")
    pairs = _json(args.pairs, "--pairs", list)
    for i, p in enumerate(pairs):
        if not isinstance(p, dict) or not {"reasoner", "base"} <= set(p):
            raise SystemExit(f"--pairs[{i}]: needs reasoner and base, got {p!r}")
        unknown = [p[k] for k in ("reasoner", "base") if p[k] not in models]
        if unknown:
            raise SystemExit(f"--pairs[{i}]: {unknown} not among --model names {sorted(models)}")
    try:
        cfg = CompareConfig.from_dict(_json(args.params, "--params", dict))
    except CompareConfigError as e:
        raise SystemExit(f"--params: {e}")
    try:
        sources = {n: load_source(n, d, "model", indexes.get(n)) for n, d in models.items()}
        sources.update({n: load_source(n, d, "external") for n, d in externals.items()})
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(str(e))
    run_compare(sources, pairs, cfg, args.out_dir)


if __name__ == "__main__":
    main()

"""Wall and CPU time per rule, from the ``benchmark:`` files Snakemake writes (``benchmarks/**.tsv``).

Why: a regression in one stage (a slower import, a toy size that grew) hides in a 10-minute run;
summed per rule it stands out. Every rule writes ``benchmarks/<rule>/<job>.tsv`` (one row per
repeat; Snakemake's columns ``s`` = wall seconds, ``cpu_time`` = user+system seconds, ``max_rss``
MiB, ``mean_load`` = CPU %). A file's modification time is when its job ended, so the span from
the first job's start to the last job's end approximates the run's wall time when every file comes
from the same run.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

JOB_COLUMNS = ["rule", "job", "wall_s", "cpu_s", "max_rss_mb", "mean_load", "end"]


def read_benchmarks(root: str | Path = "benchmarks") -> pd.DataFrame:
    """One row per job: ``rule`` (first folder under ``root``), ``job`` (rest of the path), times.

    A file that cannot be parsed is skipped with its path in ``df.attrs["skipped"]``; a missing
    ``root`` gives an empty table.
    """
    root = Path(root)
    rows, skipped = [], []
    for path in sorted(root.rglob("*.tsv")) if root.is_dir() else []:
        rel = path.relative_to(root)
        try:
            tsv = pd.read_csv(path, sep="\t")
            wall = float(tsv["s"].mean())
            cpu = float(pd.to_numeric(tsv["cpu_time"], errors="coerce").mean()) if "cpu_time" in tsv else float("nan")
            rss = float(pd.to_numeric(tsv["max_rss"], errors="coerce").max()) if "max_rss" in tsv else float("nan")
            load = float(pd.to_numeric(tsv["mean_load"], errors="coerce").mean()) if "mean_load" in tsv else float("nan")
        except (ValueError, KeyError, pd.errors.ParserError, pd.errors.EmptyDataError):
            skipped.append(str(path))
            continue
        rule = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        job = str(rel.with_suffix("")) if len(rel.parts) == 1 else str(Path(*rel.parts[1:]).with_suffix(""))
        rows.append((rule, job, wall, cpu, rss, load, path.stat().st_mtime))
    df = pd.DataFrame(rows, columns=JOB_COLUMNS)
    df.attrs["skipped"] = skipped
    return df


def rule_costs(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: jobs, summed and largest wall seconds, summed CPU seconds, peak RSS; costliest first."""
    if jobs.empty:
        return pd.DataFrame(columns=["rule", "jobs", "wall_s", "max_job_wall_s", "cpu_s", "cpu_per_wall", "max_rss_mb"])
    g = jobs.groupby("rule")
    out = pd.DataFrame({
        "jobs": g.size(),
        "wall_s": g["wall_s"].sum(),
        "max_job_wall_s": g["wall_s"].max(),
        "cpu_s": g["cpu_s"].sum(min_count=1),
        "max_rss_mb": g["max_rss_mb"].max(),
    })
    out["cpu_per_wall"] = out["cpu_s"] / out["wall_s"].where(out["wall_s"] > 0)
    out = out.sort_values("wall_s", ascending=False).reset_index()
    return out[["rule", "jobs", "wall_s", "max_job_wall_s", "cpu_s", "cpu_per_wall", "max_rss_mb"]]


def run_span(jobs: pd.DataFrame) -> float:
    """Seconds from the first benchmarked job's start to the last one's end (0 if none)."""
    if jobs.empty:
        return 0.0
    return float(jobs["end"].max() - (jobs["end"] - jobs["wall_s"]).min())


def cost_table(root: str | Path = "benchmarks", exclude: tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict[str, float]]:
    """``(per-rule table, totals)``: totals are jobs, summed wall/CPU and run span; ``exclude`` rules left out."""
    jobs = read_benchmarks(root)
    jobs = jobs[~jobs["rule"].isin(exclude)]
    table = rule_costs(jobs)
    totals = {"jobs": int(len(jobs)), "wall_s": float(jobs["wall_s"].sum()), "cpu_s": float(jobs["cpu_s"].sum()),
              "span_s": run_span(jobs), "skipped_files": len(jobs.attrs.get("skipped", []))}
    return table, totals


def format_markdown(table: pd.DataFrame, totals: dict[str, float]) -> str:
    """The per-rule table as Markdown, with a total line."""
    lines = ["| rule | jobs | wall s (sum) | largest job s | CPU s (sum) | CPU/wall | peak RSS MiB |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in table.itertuples(index=False):
        lines.append(f"| {r.rule} | {r.jobs} | {r.wall_s:.1f} | {r.max_job_wall_s:.1f} | {r.cpu_s:.1f} | "
                     f"{r.cpu_per_wall:.2f} | {r.max_rss_mb:.0f} |")
    lines.append(f"| **total** | {totals['jobs']} | {totals['wall_s']:.1f} | | {totals['cpu_s']:.1f} | | |")
    lines.append("")
    lines.append(f"First job start to last job end: {totals['span_s']:.0f} s.")
    return "\n".join(lines)

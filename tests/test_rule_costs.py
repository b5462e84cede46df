"""Per-rule cost table read from the benchmark files of a real (tiny) Snakemake run."""

from __future__ import annotations

import subprocess
import sys

from r1interp.report.rule_costs import cost_table, format_markdown

SNAKEFILE = """
rule all:
    input: expand("out/b{i}.txt", i=range(2)), "out/a.txt"

rule slow_a:
    output: "out/a.txt"
    benchmark: "benchmarks/slow_a/a.tsv"
    shell: "sleep 0.6; touch {output}"

rule quick_b:
    output: "out/b{i}.txt"
    benchmark: "benchmarks/quick_b/b{i}.tsv"
    shell: "sleep 0.1; touch {output}"
"""


def test_cost_table_from_a_real_run(tmp_path):
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--quiet"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (tmp_path / "benchmarks/broken").mkdir()
    (tmp_path / "benchmarks/broken/x.tsv").write_text("not\ta benchmark\n")

    table, totals = cost_table(tmp_path / "benchmarks")

    assert list(table["rule"]) == ["slow_a", "quick_b"]  # costliest first
    rows = table.set_index("rule")
    assert rows.loc["quick_b", "jobs"] == 2 and rows.loc["slow_a", "jobs"] == 1
    assert rows.loc["slow_a", "wall_s"] >= 0.6 and rows.loc["quick_b", "max_job_wall_s"] >= 0.1
    assert rows.loc["quick_b", "wall_s"] >= 0.2
    assert totals["jobs"] == 3 and totals["skipped_files"] == 1
    assert totals["span_s"] >= totals["wall_s"] - 0.05  # one core: the jobs ran one after another
    text = format_markdown(table, totals)
    assert "| slow_a | 1 |" in text and "**total** | 3" in text
    # the report leaves out its own rule (its benchmark file is the previous report job's)
    table, totals = cost_table(tmp_path / "benchmarks", exclude=("slow_a",))
    assert list(table["rule"]) == ["quick_b"] and totals["jobs"] == 2 and totals["skipped_files"] == 1


def test_no_benchmarks_is_an_empty_table(tmp_path):
    table, totals = cost_table(tmp_path / "missing")
    assert table.empty and totals["jobs"] == 0 and totals["span_s"] == 0.0

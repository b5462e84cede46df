"""Per-rule cost of the last workflow run: wall and CPU seconds summed per rule, from Snakemake's
``benchmark:`` files (``benchmarks/<rule>/<job>.tsv``), costliest first, plus the run's span.

``python bench/rule_costs.py [--benchmarks benchmarks] [--csv out.csv]``
The report calls :func:`r1interp.report.rule_costs.cost_table` for the same table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from r1interp.report.rule_costs import cost_table, format_markdown


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", default="benchmarks", help="folder Snakemake's benchmark: files are under")
    ap.add_argument("--csv", help="also write the per-rule table here")
    args = ap.parse_args()
    if not Path(args.benchmarks).is_dir():
        sys.exit(f"--benchmarks: {args.benchmarks} is not a folder (run the workflow first)")
    table, totals = cost_table(args.benchmarks)
    print(format_markdown(table, totals))
    if totals["skipped_files"]:
        print(f"({totals['skipped_files']} unreadable benchmark file(s) skipped)")
    if args.csv:
        table.to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()

"""Markdown tables for the text artifacts (eval summary, model card): one cell format everywhere."""

from __future__ import annotations

import pandas as pd


def fmt_cell(v) -> str:
    """Floats to 4 decimals (``nan`` spelled out), anything else as ``str``."""
    if isinstance(v, float):
        return "nan" if v != v else f"{v:.4f}"
    return str(v)


def markdown_table(df: pd.DataFrame, columns: list[str]) -> str:
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = "".join("| " + " | ".join(fmt_cell(row[c]) for c in columns) + " |\n" for _, row in df.iterrows())
    return head + body

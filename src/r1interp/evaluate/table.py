"""Per-layer metrics table and the flag table against the faithfulness targets.

Targets: per-layer CE increase < 0.1 nats (ideally < 0.05), dead latents < 10%.
"""

from __future__ import annotations

import pandas as pd

from r1interp.artifacts.markdown import fmt_cell, markdown_table
from r1interp.core.targets import Targets

LAYER_COLUMNS = [
    "layer", "ce_orig", "ce_replaced", "ce_increase", "kl", "top1_agreement", "fvu", "l0", "l0_max", "k",
    "dead_pct", "num_latents", "n_tokens", "n_mlp_tokens", "ce_increase_zero", "ce_recovered", "ce_increase_think", "ce_increase_answer", "flag",
]


def flag(ce_increase: float, dead_pct: float, t: Targets) -> str:
    """``ideal`` / ``ok`` / ``FAIL(ce,dead)``: one word a reader can scan down a column."""
    fails = [name for name, bad in (("ce", not ce_increase < t.ce), ("dead", not dead_pct < t.dead_pct)) if bad]
    if fails:
        return "FAIL(" + ",".join(fails) + ")"
    return "ideal" if ce_increase < t.ce_ideal else "ok"


def layers_frame(layer_results: list[dict], targets: Targets) -> pd.DataFrame:
    rows = []
    for r in sorted(layer_results, key=lambda r: r["layer"]):
        row = {c: r.get(c) for c in LAYER_COLUMNS if c in r}
        for seg in ("think", "answer"):
            s = r.get("segments", {}).get(seg)
            row[f"ce_increase_{seg}"] = s["ce_increase"] if s else float("nan")
        row["flag"] = flag(r["ce_increase"], r["dead_pct"], targets)
        rows.append(row)
    return pd.DataFrame(rows, columns=LAYER_COLUMNS)


def summary_markdown(model_name: str, df: pd.DataFrame, full: dict, targets: Targets) -> str:
    mean_ce = float(df["ce_increase"].mean())
    lines = [
        f"# Transcoder faithfulness: {model_name}",
        "",
        f"Targets: per-layer CE increase < {targets.ce} nats (ideal < {targets.ce_ideal}), dead latents < {targets.dead_pct}%.",
        f"Mean per-layer CE increase: **{mean_ce:.4f} nats** "
        f"({'meets' if mean_ce < targets.ce else 'misses'} the {targets.ce}-nat target); "
        f"layers failing a target: {int((~df['flag'].isin(['ok', 'ideal'])).sum())} of {len(df)}.",
        "",
        "## Per layer (one MLP replaced at a time)",
        "",
        markdown_table(df, ["layer", "ce_increase", "ce_increase_zero", "ce_recovered", "kl", "fvu", "l0", "dead_pct",
                            "ce_increase_think", "ce_increase_answer", "flag"]),
        "`ce_increase_zero`: CE increase when the MLP is deleted instead (reference scale); "
        "`ce_recovered` = 1 − ce_increase / ce_increase_zero.",
        "",
        "## All layers replaced at once",
        "",
        "| metric | value |\n|---|---|",
    ]
    for key in ("ce_orig", "ce_replaced", "ce_increase", "kl", "top1_agreement", "n_tokens"):
        lines.append(f"| {key} | {fmt_cell(full[key])} |")
    segs = full.get("segments", {})
    if segs:
        lines += ["", "| segment | tokens | CE increase | KL | top-1 agreement |", "|---|---|---|---|---|"]
        for name, s in segs.items():
            lines.append(f"| {name} | {s['n_tokens']} | {fmt_cell(s['ce_increase'])} | {fmt_cell(s['kl'])} | {fmt_cell(s['top1_agreement'])} |")
    return "\n".join(lines) + "\n"

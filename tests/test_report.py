"""The HTML report: built from stage outputs, opened in headless Chromium with no network."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from r1interp.report.build import ReportError, ReportInputs, build_report, caption_for

CHROMIUM = next((shutil.which(n) for n in ("chromium-headless-shell", "chromium", "chromium-browser") if shutil.which(n)), None)
PAIRS = [{"reasoner": "toy-reasoner", "base": "toy-base"}]
SECTIONS = ["models", "sweep", "faithfulness", "features", "graphs", "motifs", "heads", "patching", "modeldiff"]


def _png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [1, 0])
    fig.savefig(path)
    plt.close(fig)


@pytest.fixture()
def results(tmp_path):
    """A results tree with one output of each stage, in the stages' own file layouts."""
    r = tmp_path / "results"
    for rel in ["sweep/pareto.png", "toy-reasoner/heads/profile.png", "toy-reasoner/patching/heatmap.png",
                "compare/sp_heatmap.png", "compare/similarity.png", "compare/ffl_cascade_toy-reasoner.png",
                "compare/modeldiff/toy-reasoner__toy-base/residual_diff.png",
                "compare/modeldiff/toy-reasoner__toy-base/dictionary_match.png"]:
        _png(r / rel)
    (r / "sweep/selected.yaml").write_text("k: 16\nexpansion_factor: 8\n")
    for m in ("toy-reasoner", "toy-base"):
        (r / m / "eval").mkdir(parents=True)
        pd.DataFrame({"layer": [0, 1], "ce_increase": [0.02, 0.04], "dead_pct": [1.0, 3.0]}).to_parquet(r / m / "eval/layers.parquet")
        (r / m / "eval/full.json").write_text(json.dumps({"ce_increase": 0.3, "top1_agreement": 0.8}))
        (r / m / "graphs").mkdir(parents=True)
        pd.DataFrame({"graph_id": ["a-think", "a-answer"], "phase": ["think", "answer"], "correct": [True, True],
                      "replacement_score": [0.6, 0.7], "completeness_score": [0.9, 0.95]}).to_parquet(r / m / "graphs/scores.parquet")
        (r / m / "labels").mkdir(parents=True)
        (r / m / "labels/L0.json").write_text(json.dumps([{"feature_idx": 3, "layer": 0, "label": None, "status": "unlabeled",
                                                          "label_source": "auto-summary", "auto_summary": "tokens: 7, 8"}]))
    pd.DataFrame({"layer": [0], "head": [1], "score": [0.6]}).to_parquet(r / "toy-reasoner/heads/heads.parquet")
    return r


def test_report_has_every_section_and_figure(results, tmp_path):
    out = tmp_path / "report.html"
    html = build_report(ReportInputs(results, ["toy-reasoner", "toy-base"], PAIRS), out)
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in html
    # stage figures + the report's own figures, each embedded with a caption
    assert html.count("<figure") == 8 + 4
    assert html.count("<figcaption></figcaption>") == 0
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_figures_of_another_runs_models_are_left_out(results, tmp_path):
    """results/compare/ is shared by the runs of one checkout: a toy run's cascade and model-diff
    figures stay there when the real pair runs, and must not appear in the real pair's report."""
    for rel in ["compare/ffl_cascade_r1-distill-qwen-1.5b.png", "compare/modeldiff/r1-distill-qwen-1.5b__qwen2.5-math-1.5b/residual_diff.png"]:
        _png(results / rel)
    real = [{"reasoner": "r1-distill-qwen-1.5b", "base": "qwen2.5-math-1.5b"}]
    html = build_report(ReportInputs(results, ["r1-distill-qwen-1.5b", "qwen2.5-math-1.5b"], real), tmp_path / "real.html")
    assert 'id="fig-compare-ffl-cascade-r1-distill-qwen-1-5b-png"' in html
    assert 'id="fig-compare-modeldiff-r1-distill-qwen-1-5b-qwen2-5-math-1-5b-residual-diff-png"' in html
    assert "toy-reasoner" not in html and "toy-base" not in html
    assert 'id="fig-compare-sp-heatmap-png"' in html  # the run's own comparison plots stay


def test_uncaptioned_figure_fails_the_build(results, tmp_path):
    _png(results / "compare" / "mystery_plot.png")
    with pytest.raises(ReportError, match="compare/mystery_plot.png has no caption"):
        build_report(ReportInputs(results, ["toy-reasoner"], []), tmp_path / "r.html")
    assert caption_for("sweep/pareto.png").startswith("Pilot-layer sweep")


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (apt-get install chromium-headless-shell)")
def test_report_renders_in_headless_chromium(results, tmp_path):
    out = tmp_path / "report.html"
    build_report(ReportInputs(results, ["toy-reasoner", "toy-base"], PAIRS), out)
    # Count figures whose image actually decoded (naturalWidth > 0) inside the browser.
    probe = tmp_path / "probe.html"
    probe.write_text(out.read_text().replace("</body>", """<script>
      window.addEventListener('load', () => {
        const ok = [...document.images].filter(i => i.complete && i.naturalWidth > 0).length;
        document.title = 'loaded:' + ok + '/' + document.images.length + ':sections:' + document.querySelectorAll('section').length;
      });</script></body>"""))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--virtual-time-budget=5000"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "<title>loaded:12/12:sections:11</title>" in dom, dom[:500]
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,1600", out.as_uri()], capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000


def _think_vs_answer(n_motifs: int) -> pd.DataFrame:
    """A think_vs_answer table as the compare stage writes it: two models with different positions."""
    rows = []
    for model, pos in (("toy-reasoner", "think: result (14); answer: boxed (10)"), ("toy-base", "think: step (6); answer: boxed (9)")):
        for i in range(n_motifs):
            rows.append({"model": model, "family": "signed", "motif": f"m{i}", "measure": "SP", "n_pairs": 10, "mean_think": 0.1,
                         "mean_answer": 0.0, "median_diff": 0.1, "statistic": 3.0, "p_value": 0.001 * (i + 1),
                         "null_model": "layer_configuration/shuffle", "positions": pos, "q_value": 0.01 * (i + 1),
                         "significant": i == n_motifs - 1, "test": "Wilcoxon signed-rank, two-sided, on paired prompt means",
                         "fdr": "Benjamini–Hochberg across the motifs of each (model, family), α = 0.05"})
    return pd.DataFrame(rows)


def test_comparison_tables_are_shown_whole_and_say_how_they_were_tested(results, tmp_path):
    """A cut of a test table hid its significant rows (15 of 24 shown); its statement named no
    test, no correction, and one model's positions for both."""
    (results / "compare").mkdir(exist_ok=True)
    _think_vs_answer(20).to_parquet(results / "compare/think_vs_answer.parquet")
    pd.DataFrame({"profile_a": [f"p{i}" for i in range(40)], "profile_b": "q", "cosine": 0.5}).to_parquet(results / "compare/similarity.parquet")
    html = build_report(ReportInputs(results, ["toy-reasoner", "toy-base"], PAIRS), tmp_path / "r.html")
    table_html = html.split("<caption>compare/think_vs_answer.parquet</caption>")[1].split("</table>")[0]
    assert table_html.count("<tr>") == 1 + 40  # header + every row, the last (significant) ones included
    assert ">m19<" in table_html
    assert "First 15 of 40 rows; the whole table: results/compare/similarity.parquet" in html
    statement = html.split("<b>think_vs_answer</b>")[1].split("</p>")[0]
    assert "test: Wilcoxon signed-rank" in statement and "multiple comparisons: Benjamini–Hochberg" in statement
    assert "toy-base: think: step (6); answer: boxed (9)" in statement and "toy-reasoner: think: result (14)" in statement


def test_figure_captions_name_this_runs_nulls_and_position_sets(results, tmp_path):
    (results / "compare/analysis_summary.json").write_text(json.dumps({"null_models": {"triad": "layer_configuration",
                                                                                        "signed": "configuration/keep"}}))
    (results / "toy-reasoner/patching/summary.json").write_text(json.dumps({"roles": {"reasoning_end": "headline", "edit": "sanity_check"}}))
    html = build_report(ReportInputs(results, ["toy-reasoner", "toy-base"], PAIRS), tmp_path / "r.html")
    sp = html.split('id="fig-compare-sp-heatmap-png"')[1].split("</figcaption>")[0]
    assert "Null models: signed → configuration/keep; triad → layer_configuration." in sp
    patch = html.split('id="fig-toy-reasoner-patching-heatmap-png"')[1].split("</figcaption>")[0]
    assert "Position sets: reasoning_end (headline), edit (sanity check)." in patch and "answer/all" not in patch
    labels = html.split("Example labels")[1].split("</table>")[0]
    assert ">None<" not in labels  # an unlabelled feature's label cell is empty

"""Comparisons: BH, paired tests on a constructed case, the full stage on real motif outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control

from r1interp.compare.__main__ import main as compare_main
from r1interp.compare.pipeline import CompareConfig, CompareConfigError, Source, model_vs_base, think_vs_answer
from r1interp.compare.profiles import average_linkage, cosine_matrix
from r1interp.compare.stats import benjamini_hochberg, mannwhitney, wilcoxon_paired
from r1interp.motifs.__main__ import main as motifs_main
from r1interp.motifs.synthetic import write_graph_set


def test_bh_on_a_constructed_case():
    p = np.array([0.01, 0.04, 0.03, 0.2, 0.5, 0.001, np.nan])
    # by hand: sorted .001 .01 .03 .04 .2 .5 -> p*m/rank .006 .03 .06 .06 .24 .5 (already monotone)
    q = benjamini_hochberg(p)
    assert np.allclose(q[:6], [0.03, 0.06, 0.06, 0.24, 0.5, 0.006]) and np.isnan(q[6])
    assert np.allclose(q[:6], false_discovery_control(p[:6]))
    # monotonicity step: q for rank 2 is lowered to rank 3's value
    assert np.allclose(benjamini_hochberg([0.02, 0.021, 0.9]), [0.0315, 0.0315, 0.9])
    with pytest.raises(ValueError):
        benjamini_hochberg([1.5])


def test_wilcoxon_and_mannwhitney_edge_cases():
    assert np.isnan(wilcoxon_paired([1, 2], [1, 1], min_pairs=3)[1])
    assert wilcoxon_paired([1, 2, 3], [1, 2, 3]) == (0.0, 1.0)
    assert np.isnan(mannwhitney([1.0], [2.0, 3.0])[1])
    assert mannwhitney([1.0, 1.0], [1.0, 1.0])[1] == 1.0


def constructed_sources(n_prompts=12, seed=0):
    """Reasoner SP = base SP + 0.05 on motif A (big between-prompt spread), no shift on motif B."""
    rng = np.random.default_rng(seed)
    rows = {"r": [], "b": []}
    for i in range(n_prompts):
        prompt_level = rng.normal(0, 0.3)
        for motif, shift in (("A", 0.05), ("B", 0.0)):
            base = prompt_level + rng.normal(0, 0.005)
            for who, val in (("b", base), ("r", base + shift + rng.normal(0, 0.005))):
                for phase, extra in (("full", 0.0), ("think", 0.1), ("answer", 0.0)) if who == "r" else (("full", 0.0),):
                    rows[who].append({"graph_id": f"p{i}-{phase}", "prompt_id": f"p{i}", "category": "c", "phase": phase, "family": "signed",
                                      "motif": motif, "motif_index": 0 if motif == "A" else 1, "count": 1, "z": 1.0, "sp": val + (extra if motif == "A" else 0.0),
                                      "correct": i % 2 == 0})
    empty = pd.DataFrame()
    return {w: Source(w, "model", pd.DataFrame(rows[w]).assign(source=w), empty, empty) for w in rows}


def test_paired_test_finds_the_shift_unpaired_would_miss():
    src = constructed_sources()
    cfg = CompareConfig()
    res = model_vs_base(src, [{"reasoner": "r", "base": "b"}], cfg).set_index("motif")
    assert res.loc["A", "p_value"] < 0.001 and res.loc["A", "significant"]
    assert not res.loc["B", "significant"]
    assert res.loc["A", "n_pairs"] == 12 and res.loc["A", "median_diff"] == pytest.approx(0.05, abs=0.01)
    r, b = (src[w].profiles for w in ("r", "b"))
    a_r = r[(r["motif"] == "A") & (r["phase"] == "full")]["sp"]
    a_b = b[b["motif"] == "A"]["sp"]
    assert mannwhitney(a_r, a_b)[1] > 0.05  # the prompt-to-prompt spread hides it from an unpaired test
    tva = think_vs_answer(src, cfg).set_index("motif")
    assert tva.loc["A", "significant"] and tva.loc["A", "median_diff"] == pytest.approx(0.1, abs=0.01)


def test_cosine_and_average_linkage():
    mat = pd.DataFrame([[1, 0, 0], [0.9, 0.1, 0], [0, 0, 1], [0, 0, 0]], index=list("abcd"), columns=list("xyz"))
    sim = cosine_matrix(mat)
    assert sim.loc["a", "a"] == 1 and sim.loc["a", "c"] == 0 and sim.loc["d", "a"] == 0 and sim.loc["d", "d"] == 1
    assert sim.loc["a", "b"] == pytest.approx(0.9 / np.sqrt(0.82))
    link, order = average_linkage(sim)
    assert link.shape == (3, 4) and sorted(order) == list("abcd")
    assert {frozenset(order[:2]), frozenset(order[2:])} & {frozenset("ab")}


def test_config_validation():
    with pytest.raises(CompareConfigError, match="compare.fdr_alpha"):
        CompareConfig.from_dict({"fdr_alpha": 2})
    with pytest.raises(CompareConfigError, match="compare.families"):
        CompareConfig.from_dict({"families": ["quad"]})
    with pytest.raises(CompareConfigError, match=r"compare.external\[0\]"):
        CompareConfig.from_dict({"external": [{"name": "x"}]})


@pytest.fixture(scope="module")
def motif_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cmp")
    params = json.dumps({"triad_null": {"n_samples": 30}, "signed": {"n_samples": 30}, "ffl_top_k": 8})
    out = {}
    for model, phases, seed in (("toy-reasoner", ("think", "answer", "full"), 1), ("toy-base", ("full",), 2)):
        g = root / model / "graphs"
        write_graph_set(g, model, n_prompts=4, phases=phases, n_edges=80, seed=seed)
        out[model] = root / model / "motifs"
        motifs_main(["profile", "--index", str(g / "index.parquet"), "--graphs-dir", str(g), "--model", model, "--out-dir", str(out[model]), "--params", params, "--n-layers", "4"])
    ext = root / "external"
    for cat, seeds in (("arith", (5, 6)), ("multihop", (7, 8))):
        for s in seeds:
            from r1interp.motifs.synthetic import random_attribution_graph, write_graph

            write_graph(random_attribution_graph(n_layers=4, n_edges=80, seed=s), ext / cat / f"g{s}.json")
    out["haiku"] = root / "haiku-motifs"
    motifs_main(["profile-dir", "--graph-dir", str(ext), "--name", "haiku", "--out-dir", str(out["haiku"]), "--params", params])
    return root, out


def test_compare_stage_end_to_end(motif_dirs, tmp_path):
    _, dirs = motif_dirs
    out = tmp_path / "compare"
    compare_main(["run", "--model", f"toy-reasoner={dirs['toy-reasoner']}", "--model", f"toy-base={dirs['toy-base']}", "--external", f"haiku={dirs['haiku']}",
                  "--pairs", json.dumps([{"reasoner": "toy-reasoner", "base": "toy-base"}]), "--params", json.dumps({"min_pairs": 3}), "--out-dir", str(out)])
    mvb = pd.read_parquet(out / "model_vs_base.parquet")
    assert set(mvb["phase"]) == {"full"} and (mvb["n_pairs"] == 4).all()
    assert {"triad", "signed"} == set(mvb["family"]) and mvb["q_value"].between(0, 1).all()
    assert "003" not in set(mvb["motif"])  # unconnected classes carry no information
    tva = pd.read_parquet(out / "think_vs_answer.parquet")
    assert set(tva["model"]) == {"toy-reasoner"} and (tva["n_pairs"] == 4).all()
    cvi = pd.read_parquet(out / "correct_vs_incorrect.parquet")
    assert set(cvi["model"]) <= {"toy-reasoner", "toy-base"} and len(cvi)
    cat = pd.read_parquet(out / "category_profiles.parquet")
    assert {"haiku", "toy-reasoner", "toy-base"} == set(cat["source"]) and {"arith", "multihop"} <= set(cat["category"])
    sim = pd.read_parquet(out / "similarity.parquet")
    n = cat[cat["family"] == "triad"]["profile"].nunique()
    assert len(sim) == n * n and np.allclose(sim[sim["profile_a"] == sim["profile_b"]]["cosine"], 1.0)
    summary = json.loads((out / "analysis_summary.json").read_text())
    for key in ("graphs", "task_profiles", "pairwise_comparisons", "kruskal_wallis", "similarity_matrix", "motif_zoo", "model_vs_base", "think_vs_answer", "correct_vs_incorrect"):
        assert key in summary
    assert len(summary["graphs"]) == 12 + 4 + 4
    assert set(summary["graphs"][0]["instance_counts"]) == {"fan_in", "chain", "fan_out", "FFL", "cycle"}
    assert len(summary["similarity_matrix"]["matrix"]) == n
    for png in ("zscore_heatmap", "sp_heatmap", "signed_sp_heatmap", "sp_profiles", "similarity", "ffl_cascade_toy-reasoner", "ffl_cascade_toy-base", "ffl_cascade_haiku"):
        data = (out / f"{png}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_compare_cli_validates_inputs(motif_dirs, tmp_path):
    _, dirs = motif_dirs
    with pytest.raises(SystemExit, match="not among --model"):
        compare_main(["run", "--model", f"toy-base={dirs['toy-base']}", "--pairs", json.dumps([{"reasoner": "x", "base": "toy-base"}]), "--out-dir", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match="profiles.parquet"):
        compare_main(["run", "--model", f"m={tmp_path}", "--out-dir", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match="NAME=DIR"):
        compare_main(["run", "--model", "nodir", "--out-dir", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


def test_schema_defaults_match_the_dataclass_and_config_section_is_valid():
    from pathlib import Path

    import jsonschema
    import yaml

    repo = Path(__file__).resolve().parents[1]
    schema = yaml.safe_load((repo / "schemas/stages/compare.schema.yaml").read_text())
    default = CompareConfig()
    for key, prop in schema["properties"].items():
        want = getattr(default, key)
        assert (list(want) if isinstance(want, tuple) else want) == prop["default"], key
    section = yaml.safe_load((repo / "config.yaml").read_text())["compare"]
    jsonschema.validate(section, schema)
    CompareConfig.from_dict(section)
    jsonschema.validate({"external": [{"name": "haiku", "path": "data/graphs"}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"external": [{"name": "bad name", "path": "x"}]}, schema)

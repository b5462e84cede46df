"""Comparisons: BH, paired tests on a constructed case, the full stage on real motif outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control

from r1interp.compare.__main__ import main as compare_main
from r1interp.compare.pipeline import CompareConfig, CompareConfigError, PairingError, Source, correct_vs_incorrect, model_vs_base, think_vs_answer
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


def graph_row(who, prompt, phase, position, motif, sp, *, category="c", status="correct", target=None, source=None):
    return {"graph_id": f"{prompt}-{phase}-p{position}", "prompt_id": prompt, "category": category, "phase": phase,
            "position": position, "rule": "boxed" if phase == "answer" else "result",
            "target_token": target if target is not None else str(position % 10),
            "status": status, "correct": status == "correct", "needs_reasoning": True,
            "generation": source or ("teacher_forced:r" if who == "b" else "own"), "family": "signed", "motif": motif,
            "motif_index": 0 if motif == "A" else 1, "count": 1, "z": 1.0, "sp": sp, "null_model": "layer_configuration/shuffle"}


def sources_of(rows):
    empty = pd.DataFrame()
    return {w: Source(w, "model", pd.DataFrame(rows[w]), empty, empty) for w in rows}


def constructed_sources(n_prompts=12, seed=0):
    """Reasoner SP = base SP + 0.05 on motif A (big between-prompt spread), no shift on motif B.

    Both models have two think graphs (positions 5, 9) and an answer graph (position 20) per prompt,
    the base teacher-forced on the reasoner's sequence; the reasoner's think graphs sit 0.1 above its answer on A.
    """
    rng = np.random.default_rng(seed)
    rows = {"r": [], "b": []}
    for i in range(n_prompts):
        prompt_level = rng.normal(0, 0.3)
        for motif, shift in (("A", 0.05), ("B", 0.0)):
            for phase, position in (("think", 5), ("think", 9), ("answer", 20)):
                base = prompt_level + rng.normal(0, 0.005)
                extra = 0.1 if (phase == "think" and motif == "A") else 0.0
                rows["b"].append(graph_row("b", f"p{i}", phase, position, motif, base))
                rows["r"].append(graph_row("r", f"p{i}", phase, position, motif, base + shift + extra + rng.normal(0, 0.005)))
    return sources_of(rows)


def test_paired_test_finds_the_shift_unpaired_would_miss():
    src = constructed_sources()
    cfg = CompareConfig()
    res = model_vs_base(src, [{"reasoner": "r", "base": "b"}], cfg)
    assert set(res["phase"]) == {"think", "answer"}  # reasoning phases, compared phase by phase
    ans = res[res["phase"] == "answer"].set_index("motif")
    assert ans.loc["A", "p_value"] < 0.001 and ans.loc["A", "significant"] and not ans.loc["B", "significant"]
    assert ans.loc["A", "median_diff"] == pytest.approx(0.05, abs=0.01)
    think = res[res["phase"] == "think"].set_index("motif")
    assert (think["n_pairs"] == 12).all() and (think["n_graphs"] == 24).all()  # the prompt is the unit, 2 graphs each
    assert (res["null_model"] == "layer_configuration/shuffle").all() and res["positions"].str.contains("result|boxed").all()
    r, b = (src[w].profiles for w in ("r", "b"))
    a_r = r[(r["motif"] == "A") & (r["phase"] == "answer")]["sp"]
    a_b = b[(b["motif"] == "A") & (b["phase"] == "answer")]["sp"]
    assert mannwhitney(a_r, a_b)[1] > 0.05  # the prompt-to-prompt spread hides it from an unpaired test
    tva = think_vs_answer(src, cfg)
    tva_r = tva[tva["model"] == "r"].set_index("motif")
    assert tva_r.loc["A", "significant"] and tva_r.loc["A", "median_diff"] == pytest.approx(0.1, abs=0.01)


def test_model_vs_base_pairs_graphs_by_position_not_by_phase_name():
    """Yesterday's pipeline paired the reasoner's think graph with whatever the base had in that phase."""
    src = constructed_sources(n_prompts=6)
    b = src["b"].profiles
    src["b"].profiles = b[b["position"] != 9]  # the base has no graph at position 9
    res = model_vs_base(src, [{"reasoner": "r", "base": "b"}], CompareConfig())
    think = res[res["phase"] == "think"]
    assert (think["n_graphs"] == 6).all() and (think["n_pairs"] == 6).all()  # only position 5 pairs
    # a base graph at the same position that explains another token is refused, naming both graphs
    src = constructed_sources(n_prompts=6)
    prof = src["b"].profiles.copy()
    prof.loc[prof["graph_id"] == "p3-answer-p20", "target_token"] = "The"
    src["b"].profiles = prof
    with pytest.raises(PairingError, match=r"p3-answer-p20.*'The'"):
        model_vs_base(src, [{"reasoner": "r", "base": "b"}], CompareConfig())
    # and a base graph that is not teacher-forced on this reasoner's generation reads other tokens
    src = constructed_sources(n_prompts=6)
    src["b"].profiles = src["b"].profiles.assign(generation="own")
    with pytest.raises(PairingError, match="not teacher-forced"):
        model_vs_base(src, [{"reasoner": "r", "base": "b"}], CompareConfig())


def test_correct_vs_incorrect_is_compared_within_category():
    """Category decides SP here and is mixed differently among correct and incorrect prompts: no within-category effect."""
    rng = np.random.default_rng(1)
    rows = {"m": []}
    layout = [("easy", "correct", 10), ("easy", "incorrect", 2), ("hard", "correct", 2), ("hard", "incorrect", 10),
              ("hard", "unfinished", 3)]
    i = 0
    for category, status, n in layout:
        for _ in range(n):
            level = 0.5 if category == "easy" else -0.5
            rows["m"].append(graph_row("r", f"q{i}", "answer", 20, "A", level + rng.normal(0, 0.05), category=category, status=status))
            i += 1
    src = sources_of(rows)
    res = correct_vs_incorrect(src, CompareConfig(n_permutations=2000)).iloc[0]
    assert (res["n_correct"], res["n_incorrect"], res["n_unfinished"], res["n_strata"]) == (12, 12, 3, 2)
    assert json.loads(res["cells"]) == {"easy": [10, 2], "hard": [2, 10]}
    assert res["p_value"] > 0.05 and abs(res["statistic"]) < 0.1
    p = src["m"].profiles
    ok, bad = p[p["status"] == "correct"]["sp"], p[p["status"] == "incorrect"]["sp"]
    assert mannwhitney(ok, bad)[1] < 0.05  # an unpaired test across categories measures the category mix
    # a real within-category effect is found
    rows2 = {"m": [dict(r, sp=r["sp"] + (0.3 if r["status"] == "correct" else 0.0)) for r in rows["m"]]}
    res2 = correct_vs_incorrect(sources_of(rows2), CompareConfig(n_permutations=2000)).iloc[0]
    assert res2["p_value"] < 0.01 and res2["statistic"] == pytest.approx(0.3, abs=0.05)


def test_correct_vs_incorrect_n_and_means_describe_the_prompts_it_tests(tmp_path):
    """A category with correct prompts only is not in the test, so it is not in its n or means either;
    unfinished traces (no graphs) are counted from the graph index; the table says whose correctness."""
    from r1interp.compare.pipeline import load_source

    layout = [("easy", "correct", [0.50, 0.52, 0.54, 0.56]), ("easy", "incorrect", [0.40, 0.42]), ("hard", "correct", [-2.0, -2.2, -2.4])]
    rows = [graph_row("b", f"q{i}", "answer", 20, "A", v, category=c, status=st) for i, (c, st, v) in enumerate((c, st, v) for c, st, vs in layout for v in vs)]
    motif_dir = tmp_path / "motifs"
    motif_dir.mkdir()
    prof = pd.DataFrame(rows)
    prof.to_parquet(motif_dir / "profiles.parquet")
    pd.DataFrame({"graph_id": prof["graph_id"], "a": 0, "b": 0, "c": 0}).to_parquet(motif_dir / "ffl_instances.parquet")
    prof.drop_duplicates("graph_id").to_parquet(motif_dir / "graphs.parquet")
    index = prof.drop_duplicates("graph_id")[["graph_id", "prompt_id", "category", "phase", "status"]].assign(built=True)
    unfinished = pd.DataFrame({"graph_id": ["", ""], "prompt_id": ["u0", "u1"], "category": "hard", "phase": "", "status": "unfinished", "built": False})
    pd.concat([index, unfinished]).to_parquet(tmp_path / "index.parquet")

    res = correct_vs_incorrect({"b": load_source("b", motif_dir, "model", tmp_path / "index.parquet")}, CompareConfig(n_permutations=500)).iloc[0]
    assert (res["n_correct"], res["n_incorrect"], res["n_unmatched"], res["n_strata"]) == (4, 2, 3, 1)
    assert json.loads(res["cells"]) == {"easy": [4, 2], "hard": [3, 0]}
    assert res["mean_correct"] == pytest.approx(0.53) and res["mean_incorrect"] == pytest.approx(0.41)
    assert res["statistic"] == pytest.approx(res["mean_correct"] - res["mean_incorrect"])  # the means and the test agree in sign and size
    assert res["n_unfinished"] == 2  # unfinished traces have no graphs: only the index knows them
    assert res["correctness_of"] == "r"  # a teacher-forced base is judged on its reasoner's trace


def test_category_tests_use_the_prompt_as_unit():
    """Two think graphs of one prompt read one trace: Kruskal–Wallis runs on per-prompt means."""
    from scipy.stats import kruskal as scipy_kruskal

    from r1interp.compare.pipeline import category_tests

    rng = np.random.default_rng(3)
    rows, per_prompt = [], {"arith": [], "multi": []}
    for category, level in (("arith", 0.0), ("multi", 0.4)):
        for i in range(5):
            values = level + rng.normal(0, 0.3, size=2)
            per_prompt[category].append(values.mean())
            rows += [graph_row("r", f"{category}{i}", "think", pos, "A", v, category=category) for pos, v in zip((5, 9), values)]
    prof = pd.DataFrame(rows).assign(source="r")
    kw, pairwise = category_tests(prof, CompareConfig())
    row = kw.iloc[0]
    assert json.loads(row["n_prompts"]) == {"arith": 5, "multi": 5}
    assert row["H"] == pytest.approx(scipy_kruskal(per_prompt["arith"], per_prompt["multi"]).statistic)
    assert row["null_model"] == "layer_configuration/shuffle" and row["positions"] == "result (20)"
    assert (pairwise[["n_a", "n_b"]].to_numpy() == 5).all()


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
    for model, source, seed in (("toy-reasoner", "own", 1), ("toy-base", "teacher_forced:toy-reasoner", 2)):
        g = root / model / "graphs"
        write_graph_set(g, model, n_prompts=4, phases=("think", "answer"), n_edges=80, seed=seed, source=source)
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
    assert set(mvb["phase"]) == {"think", "answer"} and (mvb["n_pairs"] == 4).all()
    assert (mvb["null_model"].isin(["layer_configuration", "layer_configuration/shuffle"])).all() and mvb["positions"].str.len().gt(0).all()
    assert {"triad", "signed"} == set(mvb["family"]) and mvb["q_value"].between(0, 1).all()
    assert "003" not in set(mvb["motif"])  # unconnected classes carry no information
    # the triad family has one degree of freedom under the layer null: tested on Z(030T), its mirrors dropped
    assert set(mvb.loc[mvb["family"] == "triad", "motif"]) == {"030T"} and (mvb.loc[mvb["family"] == "triad", "measure"] == "Z(030T)").all()
    assert (mvb.loc[mvb["family"] == "signed", "measure"] == "SP").all()
    tva = pd.read_parquet(out / "think_vs_answer.parquet")
    assert set(tva["model"]) == {"toy-reasoner", "toy-base"} and (tva["n_pairs"] == 4).all()
    cvi = pd.read_parquet(out / "correct_vs_incorrect.parquet")
    assert set(cvi["model"]) <= {"toy-reasoner", "toy-base"} and len(cvi)
    cat = pd.read_parquet(out / "category_profiles.parquet")
    assert {"haiku", "toy-reasoner", "toy-base"} == set(cat["source"]) and {"arith", "multihop"} <= set(cat["category"])
    sim = pd.read_parquet(out / "similarity.parquet")
    assert (sim["basis"] == "signed mean SP").all()  # the triad SP is degenerate here, so similarity uses the signed profiles
    n = cat[cat["family"] == "signed"]["profile"].nunique()
    assert len(sim) == n * n and np.allclose(sim[sim["profile_a"] == sim["profile_b"]]["cosine"], 1.0)
    # every test table says how it was tested and corrected, read alone (pandas, the report)
    kw = pd.read_parquet(out / "category_tests.parquet")
    for df, test, groups in ((mvb, "Wilcoxon signed-rank", "reasoner, base, phase, family"), (tva, "Wilcoxon signed-rank", "model, family"),
                             (cvi, "stratified permutation", "model, phase, family"), (kw, "Kruskal–Wallis", "source, phase, family")):
        assert df["test"].str.startswith(test).all() and (df["fdr"] == f"Benjamini–Hochberg across the motifs of each ({groups}), α = 0.05").all()
    reasoning = mvb["prompts"].str.extract(r"prompts that need reasoning: (\d+) of the (\d+) with measured graphs").astype(float)
    assert reasoning.notna().all().all() and (reasoning[0] >= mvb["n_pairs"]).all() and (reasoning[0] <= reasoning[1]).all()
    assert cat["null_model"].isin(["layer_configuration", "layer_configuration/shuffle"]).all()
    summary = json.loads((out / "analysis_summary.json").read_text())
    assert summary["null_models"] == {"signed": "layer_configuration/shuffle", "triad": "layer_configuration"}
    for key in ("graphs", "task_profiles", "pairwise_comparisons", "kruskal_wallis", "similarity_matrix", "motif_zoo", "model_vs_base", "think_vs_answer", "correct_vs_incorrect"):
        assert key in summary
    assert len(summary["graphs"]) == 8 + 8 + 4
    assert set(summary["graphs"][0]["instance_counts"]) == {"fan_in", "chain", "fan_out", "FFL", "cycle"}
    assert len(summary["similarity_matrix"]["matrix"]) == n
    assert summary["measures"] == {"signed": "SP", "triad": "Z(030T)"} and summary["similarity_basis"] == "signed mean SP"
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

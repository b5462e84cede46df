"""The motif stage CLI on a graph-stage-like directory: tables, seeding, input validation."""

from __future__ import annotations

import json
import numpy as np
import pandas as pd
import pytest

from r1interp.artifacts import motif_labels as L
from r1interp.motifs.__main__ import main
from r1interp.motifs.config import MotifsConfig, MotifsConfigError
from r1interp.motifs.signed import ALL_SIGNED
from r1interp.motifs.synthetic import write_graph_set

PARAMS = json.dumps({"triad_null": {"n_samples": 40}, "signed": {"n_samples": 40, "max_layer_gap": 3}, "ffl_top_k": 5})


@pytest.fixture(scope="module")
def graph_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("graphs")
    write_graph_set(d, "toy-reasoner", n_prompts=3, phases=("think", "answer"), n_edges=90, seed=1)
    return d


def run(graph_dir, out, params=PARAMS, seed=0):
    main(["profile", "--index", str(graph_dir / "index.parquet"), "--graphs-dir", str(graph_dir), "--model", "toy-reasoner",
          "--out-dir", str(out), "--params", params, "--seed", str(seed), "--n-layers", "4"])


def test_profile_tables(graph_dir, tmp_path):
    run(graph_dir, tmp_path / "m")
    prof = pd.read_parquet(tmp_path / "m" / "profiles.parquet")
    assert prof["graph_id"].nunique() == 6
    per_graph = prof.groupby(["graph_id", "family"]).size().unstack()
    assert (per_graph["triad"] == 16).all() and (per_graph["signed"] == len(ALL_SIGNED)).all()
    tri = prof[prof["family"] == "triad"]
    assert list(tri[tri["graph_id"] == "p0-think-p10"]["motif"]) == list(L.TRIAD_LABELS)
    for _, g in tri.groupby("graph_id"):
        sp = g["sp"].to_numpy()
        assert np.linalg.norm(sp) == pytest.approx(1.0)
    assert (prof["n_samples"] == 40).all() and set(prof["null_model"]) == {"layer_configuration", "layer_configuration/shuffle"}  # the default triad null keeps layers
    assert prof["correct"].dtype == "boolean" and set(prof["phase"]) == {"think", "answer"}
    inst = pd.read_parquet(tmp_path / "m" / "ffl_instances.parquet")
    assert inst.groupby("graph_id")["rank"].max().max() <= 4 and {"source", "mediator", "target", "cascade", "graph_id"} <= set(inst.columns)
    graphs = pd.read_parquet(tmp_path / "m" / "graphs.parquet")
    assert len(graphs) == 6 and (graphs["census_method"] == "dag").all()
    # the census in graphs.parquet is the profile's count column
    row = graphs.set_index("graph_id").loc["p1-answer-p11"]
    cnt = tri[tri["graph_id"] == "p1-answer-p11"].set_index("motif")["count"]
    assert row["census_030T"] == cnt["030T"] and row["census_021U"] == cnt["021U"]


def test_seeded_and_order_independent(graph_dir, tmp_path):
    run(graph_dir, tmp_path / "a", seed=3)
    run(graph_dir, tmp_path / "b", seed=3)
    run(graph_dir, tmp_path / "c", seed=4)
    a, b, c = (pd.read_parquet(tmp_path / x / "profiles.parquet") for x in "abc")
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["null_mean"], c["null_mean"])
    # one graph's nulls do not depend on the other graphs in the run
    idx = pd.read_parquet(graph_dir / "index.parquet")
    idx.iloc[::-1].iloc[:2].to_parquet(graph_dir / "sub.parquet")
    main(["profile", "--index", str(graph_dir / "sub.parquet"), "--graphs-dir", str(graph_dir), "--model", "toy-reasoner",
          "--out-dir", str(tmp_path / "d"), "--params", PARAMS, "--seed", "3", "--n-layers", "4"])
    d = pd.read_parquet(tmp_path / "d" / "profiles.parquet")
    gid = d["graph_id"].iloc[0]
    pd.testing.assert_frame_equal(a[a["graph_id"] == gid].reset_index(drop=True), d[d["graph_id"] == gid].reset_index(drop=True))


def test_config_validation_names_the_key():
    with pytest.raises(MotifsConfigError, match=r"motifs\.triad_null\.model"):
        MotifsConfig.from_dict({"triad_null": {"model": "random"}})
    with pytest.raises(MotifsConfigError, match=r"motifs\.signd"):
        MotifsConfig.from_dict({"signd": {}})
    with pytest.raises(MotifsConfigError, match=r"motifs\.threshold"):
        MotifsConfig.from_dict({"threshold": {"mode": "relative", "value": 3}})
    with pytest.raises(MotifsConfigError, match=r"max_layer_gap"):
        MotifsConfig.from_dict({"signed": {"min_layer_gap": 3, "max_layer_gap": 2}})
    assert MotifsConfig.from_dict({}).triad_null.n_samples == 1000


def test_cli_rejects_bad_inputs_before_work(graph_dir, tmp_path):
    with pytest.raises(SystemExit, match="triad_null.n_samples"):
        run(graph_dir, tmp_path / "x", params=json.dumps({"triad_null": {"n_samples": 1}}))
    with pytest.raises(SystemExit, match="file not found"):
        main(["profile", "--index", str(tmp_path / "none.parquet"), "--graphs-dir", str(graph_dir), "--model", "m", "--out-dir", str(tmp_path / "x")])
    idx = pd.read_parquet(graph_dir / "index.parquet")
    idx.loc[0, "file"] = "gone.json"
    idx.to_parquet(tmp_path / "idx.parquet")
    with pytest.raises(SystemExit, match="gone.json"):
        main(["profile", "--index", str(tmp_path / "idx.parquet"), "--graphs-dir", str(graph_dir), "--model", "m", "--out-dir", str(tmp_path / "x")])
    assert not (tmp_path / "x").exists()
    (graph_dir / "broken").mkdir()
    bad = graph_dir / "broken" / "cat"
    bad.mkdir()
    (bad / "g.json").write_text("{\"nodes\": []")
    with pytest.raises(SystemExit, match=str(bad / "g.json")):
        main(["profile-dir", "--graph-dir", str(graph_dir / "broken"), "--name", "ext", "--out-dir", str(tmp_path / "y"), "--params", PARAMS])


def test_census_command(graph_dir, capsys):
    main(["census", str(graph_dir / "p0-think-p10.json")])
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {L.TRIAD_LABELS[i] for i in L.CONNECTED} and out["030T"] >= 0


def test_schema_defaults_match_the_dataclass_and_config_section_is_valid():
    from dataclasses import asdict
    from pathlib import Path

    import jsonschema
    import yaml

    repo = Path(__file__).resolve().parents[1]
    schema = yaml.safe_load((repo / "schemas/stages/motifs.schema.yaml").read_text())

    def defaults(s):
        if s.get("type") == "object" and "properties" in s:
            return {k: defaults(v) for k, v in s["properties"].items()}
        return s.get("default")

    cfg = asdict(MotifsConfig())
    assert defaults(schema) == cfg
    section = yaml.safe_load((repo / "config.yaml").read_text())["motifs"]
    jsonschema.validate(section, schema)
    # the shipped toy section differs from the library defaults only by its documented toy sizes
    shipped = asdict(MotifsConfig.from_dict(section))
    toy = {"threshold": {"mode": "relative", "value": 0.02}}
    toy_samples = {"triad_null": 200, "signed": 200}
    for key, value in cfg.items():
        if key in toy:
            assert shipped[key] == toy[key]
        elif key in toy_samples:
            assert shipped[key]["n_samples"] == toy_samples[key] and value["n_samples"] == 1000
            assert {k: v for k, v in shipped[key].items() if k != "n_samples"} == {k: v for k, v in value.items() if k != "n_samples"}
        else:
            assert shipped[key] == value, key
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"triad_null": {"model": "random"}}, schema)


def test_warm_runs_every_compiled_entry_point():
    """`motifs warm` must reach every kernel the motif code calls from Python, or motif jobs would
    still compile: in a fresh process (numba loads or compiles only what is called), each of them
    has a compiled signature after it."""
    import re
    import subprocess
    import sys

    from r1interp.motifs import nulls

    called = sorted(set(re.findall(r"\bSC\.([a-z_]+)\(", open(nulls.__file__).read())))
    assert {"run_chain", "sample_triads", "sample_signed", "sample_targets", "census_edge_lists", "signed_edge_lists"} <= set(called)
    code = ("from r1interp.motifs.__main__ import main; main(['warm']); from r1interp.motifs import swapchain as s; "
            f"print([n for n in {called!r} if hasattr(getattr(s, n), 'signatures') and not getattr(s, n).signatures])")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=900).stdout
    assert out.strip() == "[]", out

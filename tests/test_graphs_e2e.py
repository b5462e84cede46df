"""The graphs stage end to end on a tiny real Qwen2 (hidden 32, 3 layers) with fitted skip transcoders.

Covers: replacement-model logits == HF logits, circuit-tracer features == our transcoders' on the
post-norm MLP input, feature nodes from every layer, the CLI (plan, build per prompt, finalize per
model), graph JSON valid under circuit-tracer's own pydantic models, a prompt too long for the
context listed with its reason while the others are built, a failing graph recorded without
stopping the prompt, and circuit-tracer's local server serving a graph and a feature file.
"""

from __future__ import annotations

import functools
import json
import threading
import urllib.request

import pandas as pd
import pytest
import torch

import graphs_helpers as H
from r1interp.graphs.__main__ import main
from r1interp.graphs.export import FEATURE_TYPE, cantor_unpair, validate_graph_json

MODEL = "tiny"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("graphs")
    model, tok, problems = H.make_model_dir(root / "model")
    H.fit_transcoders(model, tok, problems, root / "transcoders")
    H.write_feature_tables(model, tok, root / "transcoders", problems, root / "features")
    rows = [
        H.generation_row(tok, "p-think", problems[1].question, problems[1].think, problems[1].answer_text, correct=False),
        H.generation_row(tok, "p-plain", problems[0].question, None, problems[0].answer_text, category="baseline",
                         needs_reasoning=False),
        H.generation_row(tok, "p-long", " ".join([problems[2].question] * 25), problems[2].think, problems[2].answer_text),
    ]
    gens = H.write_generations(rows, root / "generations.parquet")
    # label database through the autointerp stage's own builder: layer 0 has LLM labels (even
    # features) and auto summaries (odd features); other layers have no records
    from r1interp.autointerp import build_db

    label_files = []
    for layer in range(H.LAYERS):
        recs = [] if layer else [
            {"feature_idx": f, "layer": 0, "label": f"toy label {f}" if f % 2 == 0 else None, "confidence": None,
             "explanation": None, "class": None, "status": "labeled" if f % 2 == 0 else "unlabeled",
             "label_source": "llm" if f % 2 == 0 else "auto-summary", "auto_summary": f"fires on digit {f}"}
            for f in range(H.LATENTS)
        ]
        label_files.append(root / f"L{layer}.labels.json")
        label_files[-1].write_text(json.dumps(recs))
    build_db(root / "labels.sqlite", MODEL, list(range(H.LAYERS)), label_files,
             [root / "features" / f"L{layer}.examples.parquet" for layer in range(H.LAYERS)])
    plan = root / "plan.parquet"
    main(["plan", "--model-path", str(root / "model"), "--generations", str(gens), "--out", str(plan),
          "--config-json", json.dumps({"max_context": 120})])
    return {"root": root, "hf": model, "tok": tok, "rows": {r["prompt_id"]: r for r in rows}, "gens": gens, "plan": plan}


@pytest.fixture(scope="module")
def replacement(setup):
    from r1interp.graphs.adapter import load_replacement_model

    model, tok = load_replacement_model(setup["root"] / "model", setup["root"] / "transcoders", n_ctx=256, scan=MODEL)
    yield model, tok
    del model


def test_replacement_logits_and_features_match_hf(setup, replacement):
    from r1interp.artifacts.transcoder import load_transcoder

    model, _ = replacement
    ids = setup["rows"]["p-think"]["prompt_ids"]
    assert ids[0] == setup["tok"].bos_token_id  # chat template: starts with a special token, no extra BOS
    x = torch.tensor([ids])
    with torch.no_grad():
        hf_logits = setup["hf"](x).logits
        rm_logits = model(x)
    assert hf_logits.abs().max() > 1.0  # not a degenerate model
    torch.testing.assert_close(rm_logits, hf_logits, atol=1e-4, rtol=1e-4)

    _, acts = model.get_activations(torch.tensor(ids))  # circuit-tracer reads at mlp.hook_in
    io = H.mlp_io(setup["hf"], x)  # HF post-norm MLP input
    for layer in range(H.LAYERS):
        ref = load_transcoder(setup["root"] / "transcoders" / f"L{layer}").encode(io[layer][0])
        ref[0] = 0  # circuit-tracer zeroes position 0 (BOS)
        torch.testing.assert_close(acts[layer], ref, atol=1e-5, rtol=1e-5)
        assert ((acts[layer][1:] > 0).sum(-1) == H.K).all()


def planned(setup, prompt_id: str, phase: str):
    from r1interp.graphs.build import PlannedGraph
    from r1interp.graphs.plan import read_plan

    rows = read_plan(setup["plan"], prompt_id)
    return [PlannedGraph.from_row(r) for _, r in rows[rows["phase"] == phase].iterrows()]


def test_attribution_graph_has_features_in_every_layer(setup, replacement):
    from r1interp.graphs.build import build_graph
    from r1interp.graphs.config import GraphsConfig

    model, tok = replacement
    plan = planned(setup, "p-think", "think")[0]
    cfg = GraphsConfig(max_feature_nodes=96, batch_size=48)
    rec, data = build_graph(model, tok, plan, cfg, "./data/features/tiny")
    assert rec.n_input_tokens == plan.position and rec.n_active_features > 96
    assert rec.layers_with_features == list(range(H.LAYERS)), rec
    assert rec.n_feature_nodes >= H.LAYERS and 0 < rec.replacement_score <= 1 and 0 < rec.completeness_score <= 1
    validate_graph_json(data)
    feats = [n for n in data["nodes"] if n["feature_type"] == FEATURE_TYPE]
    for n in feats:  # node id {layer}_{feat}_{pos} ↔ Cantor feature index
        layer, feat, pos = map(int, n["node_id"].split("_"))
        assert cantor_unpair(n["feature"]) == (layer, feat) and int(n["layer"]) == layer and n["ctx_idx"] == pos


def test_a_graph_explains_the_planned_token_even_where_the_model_prefers_another(setup, replacement):
    """A teacher-forced base's own likeliest tokens are often not the reasoner's: with circuit-tracer's
    salient logits its graph explained other tokens (6 of 30 toy base graphs lacked the planned one).
    Here the planned token is the one the model finds least likely at that position."""
    from dataclasses import replace

    from r1interp.graphs.build import build_graph
    from r1interp.graphs.config import GraphsConfig

    model, tok = replacement
    plan = planned(setup, "p-think", "think")[0]
    with torch.no_grad():
        logits = model(torch.tensor([plan.input_ids[: plan.position]]))[0, -1]
    unlikely = int(logits.argmin())
    forced = replace(plan, input_ids=plan.input_ids[: plan.position] + [unlikely] + plan.input_ids[plan.position + 1:])
    rec, data = build_graph(model, tok, forced, GraphsConfig(max_feature_nodes=32, batch_size=32), "./x")
    logit_nodes = [n for n in data["nodes"] if n["feature_type"] == "logit"]
    assert [int(n["feature"]) for n in logit_nodes] == [unlikely] and rec.target_token_id == unlikely
    assert rec.top_logit_token_id == int(logits.argmax()) != unlikely
    assert 0 < rec.target_probability == pytest.approx(float(torch.softmax(logits, -1)[unlikely]), rel=1e-3)
    # circuit-tracer's own choice leaves it out, and the record says so
    rec, data = build_graph(model, tok, forced, GraphsConfig(max_feature_nodes=32, batch_size=32, logit_targets="salient"), "./x")
    assert unlikely not in [int(n["feature"]) for n in data["nodes"] if n["feature_type"] == "logit"]
    assert rec.target_probability != rec.target_probability  # NaN: not among the explained logits


def test_a_failing_graph_is_recorded_and_the_rest_built(setup, replacement, tmp_path, monkeypatch):
    from r1interp.graphs import build as B
    from r1interp.graphs.config import GraphsConfig

    model, tok = replacement
    plans = planned(setup, "p-think", "think") + planned(setup, "p-think", "answer")
    real = B.attribute_graph
    bad = plans[0].graph_id

    def flaky(model, ids, cfg, target=None):
        if len(ids) == plans[0].position:
            raise RuntimeError("CUDA out of memory (simulated)")
        return real(model, ids, cfg, target)

    monkeypatch.setattr(B, "attribute_graph", flaky)
    records, failed = B.build_prompt(model, tok, plans, GraphsConfig(max_feature_nodes=32, batch_size=32), tmp_path, "./x", "p-think")
    assert [f["graph_id"] for f in failed] == [bad] and "out of memory" in failed[0]["reason"]
    assert [r.graph_id for r in records] == [p.graph_id for p in plans[1:]]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["failed"][0]["graph_id"] == bad and len(manifest["graphs"]) == len(plans) - 1


def test_lazy_decoder_gives_the_same_graph(setup, replacement):
    from r1interp.graphs.adapter import load_replacement_model
    from r1interp.graphs.build import attribute_graph
    from r1interp.graphs.config import GraphsConfig

    model, _ = replacement
    lazy, _ = load_replacement_model(setup["root"] / "model", setup["root"] / "transcoders", n_ctx=256, lazy_decoder=True)
    assert "W_dec" not in dict(lazy.transcoders[0].named_parameters())
    ids = setup["rows"]["p-think"]["prompt_ids"]
    cfg = GraphsConfig(max_feature_nodes=64, batch_size=32, logit_targets="salient")  # circuit-tracer's choice: the same in both
    a, b = attribute_graph(model, ids, cfg), attribute_graph(lazy, ids, cfg)
    assert torch.equal(a.selected_features, b.selected_features)
    torch.testing.assert_close(a.adjacency_matrix, b.adjacency_matrix, atol=1e-6, rtol=1e-5)
    del lazy


@pytest.fixture(scope="module")
def built(setup):
    root = setup["root"]
    cfg = json.dumps({"max_feature_nodes": 150, "batch_size": 50, "max_context": 120})
    dirs = []
    for pid in ("p-think", "p-plain", "p-long"):
        out = root / "graphs" / "build" / pid
        main(["build", "--model-path", str(root / "model"), "--model-name", MODEL, "--transcoders-dir",
              str(root / "transcoders"), "--plan", str(setup["plan"]), "--prompt-id", pid, "--out-dir", str(out),
              "--config-json", cfg, "--device", "cpu"])
        dirs.append(str(out))
    main(["finalize", "--build-dirs", *dirs, "--out-dir", str(root / "graphs"), "--model-name", MODEL,
          "--features-dir", str(root / "features"), "--labels-db", str(root / "labels.sqlite"), "--plan", str(setup["plan"])])
    return root / "graphs"


def test_cli_build_positions_and_tables(setup, built):
    scores = pd.read_parquet(built / "scores.parquet")
    index = pd.read_parquet(built / "index.parquet")
    tok = setup["tok"]
    for col in ("graph_id", "prompt_id", "category", "phase", "rule", "status", "generation", "correct", "needs_reasoning",
                "n_feature_nodes", "n_error_nodes", "n_edges", "replacement_score", "completeness_score", "layers_with_features"):
        assert col in scores.columns, col
    assert set(index.columns) >= {"graph_id", "prompt_id", "phase", "position", "rule", "target_token", "built", "reason", "file"}
    think = setup["rows"]["p-think"]
    ids = think["prompt_ids"] + think["output_ids"]
    n_prompt, t_end = len(think["prompt_ids"]), think["think_end"]
    g = scores[scores["prompt_id"] == "p-think"].set_index("phase")
    # think graphs sit on tokens of the generated trace that write a result (after "="), answer on the boxed content
    thinks = scores[(scores["prompt_id"] == "p-think") & (scores["phase"] == "think")]
    assert len(thinks) == 2 and "result" in set(thinks["rule"]) and set(thinks["rule"]) <= {"result", "step"}
    for pos, rule in zip(thinks["position"], thinks["rule"]):
        assert n_prompt <= pos < t_end
        if rule == "result":  # the first digit written right after "="
            assert tok.decode([ids[pos]]).strip().isdigit() and tok.decode(ids[pos - 3 : pos]).rstrip().endswith("=")
        else:  # the first token of a step: right after a sentence end
            assert tok.decode(ids[pos - 2 : pos]).rstrip().endswith(".") and tok.decode([ids[pos]]).strip()[:1].isupper()
    assert g.loc["answer", "rule"] == "boxed" and g.loc["answer", "position"] > t_end
    answer_pos = int(g.loc["answer", "position"])
    assert tok.decode(ids[answer_pos - 7 : answer_pos]).endswith("\\boxed{")  # the first token *inside* the box
    assert tok.decode([ids[answer_pos]]).strip().isdigit() and g.loc["answer", "target_token"] == tok.decode([ids[answer_pos]])
    # the generation that never closed its <think> (the r1 template opens it) is unfinished: no graph, a reason
    plain = index[index["prompt_id"] == "p-plain"]
    assert len(plain) == 1 and not plain["built"].iloc[0] and plain["reason"].iloc[0].startswith("unfinished")
    assert (scores["n_feature_nodes"] > 0).all() and scores["replacement_score"].between(0, 1).all()
    assert (scores["n_input_tokens"] == scores["position"]).all()
    assert (scores["graph_id"] == [f"{p}-{ph}-p{pos}" for p, ph, pos in zip(scores["prompt_id"], scores["phase"], scores["position"])]).all()
    # the prompt too long for graphs.max_context is listed with its reason; the others were built
    long = index[index["prompt_id"] == "p-long"]
    assert len(long) and not long["built"].any() and long["reason"].str.contains("max_context=120").all()
    assert index[index["prompt_id"] == "p-think"]["built"].all() and len(index[index["built"]]) == len(scores)


def test_graph_json_valid_and_labelled(built):
    from circuit_tracer.frontend.graph_models import Model

    meta = json.loads((built / "graph-metadata.json").read_text())
    assert sorted(g["slug"] for g in meta["graphs"]) == sorted(pd.read_parquet(built / "scores.parquet")["graph_id"])
    n_labelled = 0
    for g in meta["graphs"]:
        data = json.loads((built / f"{g['slug']}.json").read_text())
        Model.model_validate(data)  # circuit-tracer's own schema
        validate_graph_json(data)  # + unique ids, links to known nodes
        assert data["metadata"]["scan"] == f"./data/features/{MODEL}"
        for n in data["nodes"]:
            if n["feature_type"] == FEATURE_TYPE:
                layer, feat = cantor_unpair(n["feature"])
                expect = "" if layer else f"toy label {feat}" if feat % 2 == 0 else f"[auto] fires on digit {feat}"
                assert n["clerp"] == expect
                n_labelled += layer == 0
    assert n_labelled > 0


def test_every_graph_failing_fails_finalize_naming_why(setup, tmp_path):
    root = setup["root"]
    out = tmp_path / "build" / "p-long"
    main(["build", "--model-path", str(root / "model"), "--model-name", MODEL, "--transcoders-dir", str(tmp_path / "none"),
          "--plan", str(setup["plan"]), "--prompt-id", "p-long", "--out-dir", str(out)])  # nothing to build: no model load
    with pytest.raises(ValueError, match=r"no graph was built.*max_context=120"):
        main(["finalize", "--build-dirs", str(out), "--out-dir", str(tmp_path / "graphs"), "--model-name", MODEL,
              "--plan", str(setup["plan"])])


def test_local_server_serves_graph_and_feature(built):
    """circuit-tracer's own request handler, bound to 127.0.0.1 on a free port."""
    from circuit_tracer.frontend.feature_models import Model as FeatureModel
    from circuit_tracer.frontend.local_server import DEFAULT_FRONTEND_DIR, CircuitGraphHandler, ReusableTCPServer

    handler = functools.partial(CircuitGraphHandler, frontend_dir=DEFAULT_FRONTEND_DIR, data_dir=str(built))
    httpd = ReusableTCPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    slugs = list(pd.read_parquet(built / "scores.parquet")["graph_id"])
    try:
        get = lambda path: json.loads(urllib.request.urlopen(base + path, timeout=10).read())  # noqa: E731
        assert set(slugs) == {g["slug"] for g in get("/data/graph-metadata.json")["graphs"]}
        graph = get(f"/graph_data/{slugs[0]}.json")  # what init-cg.js fetches
        feat = next(n for n in graph["nodes"] if n["feature_type"] == FEATURE_TYPE)
        # init-feature-examples.js: scan starts with './' → fetch `${scan}/${featureIndex}.json`
        url = graph["metadata"]["scan"].removeprefix(".") + f"/{feat['feature']}.json"
        data = get(url)
        FeatureModel.model_validate(data)
        assert data["index"] == feat["feature"] and data["examples_quantiles"][0]["quantile_name"] == "Top activations"
        assert len(data["quantile_values"]) == 100 and len(data["histogram"]) > 0 and 0 < data["activation_frequency"] <= 1
        assert urllib.request.urlopen(base + "/index.html", timeout=10).status == 200
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
    # only features that appear in graphs get a file
    files = {int(p.stem) for p in (built / "features" / MODEL).glob("*.json")}
    in_graphs = {n["feature"] for s in slugs
                 for n in json.loads((built / f"{s}.json").read_text())["nodes"] if n["feature_type"] == FEATURE_TYPE}
    assert files == in_graphs

"""Guardrails: settings that cannot work together fail at workflow start, naming the key and a value that works."""

from __future__ import annotations

import json
import re

import pytest

from conftest import REPO

REAL = REPO / "config" / "r1-distill-qwen-1.5b.yaml"


def real_config():
    from r1interp.config import load_config

    return load_config(REPO / "config.yaml", REAL)


def toy_config():
    from r1interp.config import load_config

    return load_config(REPO / "config.yaml")


def raises(cfg, *fragments):
    from r1interp.config import ConfigError
    from r1interp.guardrails import check_guardrails

    with pytest.raises(ConfigError) as err:
        check_guardrails(cfg)
    msg = str(err.value)
    for f in fragments:
        assert re.search(f, msg), f"{f!r} not in: {msg}"
    return msg


def test_real_config_is_valid_merged_over_config_yaml():
    from r1interp.config import schema_errors

    assert schema_errors(real_config(), REPO / "schemas" / "config.schema.yaml") == []


def test_real_and_toy_configs_pass():
    from r1interp.config import check_config
    from r1interp.guardrails import check_guardrails

    check_guardrails(real_config())
    check_config(toy_config())


def test_generation_budget_beyond_graph_context():
    cfg = real_config()
    cfg["generation"]["max_new_tokens"] = 8000
    msg = raises(cfg, r"graphs\.max_context: 3456", r"generation\.max_new_tokens: 8000")
    # the suggested context is enough: applying it passes this guardrail
    from r1interp.guardrails import check_generation_fits_graphs

    cfg["graphs"]["max_context"] = int(re.search(r"Set graphs\.max_context: (\d+)", msg).group(1))
    check_generation_fits_graphs(cfg)


def test_generation_budget_falls_back_to_data_max_new_tokens():
    cfg = toy_config()
    cfg.pop("generation", None)
    cfg["data"]["max_new_tokens"] = 600
    raises(cfg, r"graphs\.max_context: 512", r"data\.max_new_tokens: 600", r"data\.max_new_tokens: \d+ \(or less\)")


def test_real_model_with_toy_prompts():
    cfg = real_config()
    cfg["run"]["prompt_set"] = "toy"
    raises(cfg, r"run\.prompt_set", r"benchmark", "r1-distill-qwen-1.5b")


def test_seq_len_shorter_than_stated_median_trace():
    cfg = real_config()
    cfg["data"]["max_seq_len"] = 160
    msg = raises(cfg, r"data\.max_seq_len: 160", r"4500 tokens, stated in guardrails\.median_trace_tokens")
    assert int(re.search(r"Set data\.max_seq_len: (\d+)", msg).group(1)) >= 4500


def test_seq_len_median_computed_from_local_files(tmp_path):
    """Local OpenR1-style files: the median is measured (here ~1,000 tokens by the byte estimate; the
    real tokenizer is used when it is local), and a stated median is not needed."""
    rows = [{"uuid": str(i), "problem": f"Problem {i}", "generations": [f"<think>\n{'step ' * (800 + i)}\n</think>\nThe answer is {i}."],
             "correctness_math_verify": [True]} for i in range(21)]
    path = tmp_path / "openr1.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    cfg = real_config()
    cfg["data"]["hf"]["local_files"] = [str(path)]
    cfg["data"]["hf"]["datasets"] = cfg["data"]["hf"]["datasets"][:1]
    cfg["guardrails"]["median_trace_tokens"] = None
    cfg["models"]["r1-distill-qwen-1.5b"]["path"] = str(tmp_path / "no-such-model")
    cfg["data"]["max_seq_len"] = 512
    cfg["transcoders"]["train_tokens"] = cfg["sweep"]["train_tokens"] = 10_000  # keep the loop guardrail quiet
    from r1interp.guardrails import trace_lengths

    lengths = trace_lengths(cfg)
    assert len(lengths) == 21 and 1000 <= sorted(lengths)[10] <= 1030  # "step " x 810 = 4050 bytes / 4
    raises(cfg, r"data\.max_seq_len: 512", r"computed from 21 traces of data\.hf\.local_files", r"Set data\.max_seq_len: 1536")


def test_training_budget_that_loops_a_small_shard():
    """The issue's case: toy data budgets under a real training budget loop the shard ~400 times."""
    cfg = real_config()
    cfg["data"]["train_tokens"] = 500_000
    msg = raises(cfg, r"transcoders\.train_tokens: 200000000 loops the corpus 400\.0 times", r"guardrails\.max_loops: 2")
    assert "transcoders.train_tokens: 1000000 (or less)" in msg and "data.train_tokens: 100000000 (or more)" in msg


def test_training_budget_beyond_the_stated_corpus():
    cfg = real_config()
    cfg["guardrails"]["corpus_tokens"] = 20_000_000  # a corpus ten times too small for 200M tokens
    raises(cfg, r"transcoders\.train_tokens: 200000000 loops the corpus", r"guardrails\.corpus_tokens")


def test_graph_batch_that_cannot_fit_the_gpu():
    cfg = real_config()
    cfg["graphs"]["batch_size"] = 32
    msg = raises(cfg, r"graphs\.batch_size: 32 does not fit .* k 32 \(~\d+ GB\)", r"resources\.gpu\.gpu_model 'h100' has 80 GB")
    fits = int(re.search(r"Set graphs\.batch_size: (\d+)", msg).group(1))
    assert 1 <= fits < 32
    cfg["graphs"]["batch_size"] = fits
    from r1interp.guardrails import check_graph_memory, Guardrails

    check_graph_memory(cfg, Guardrails.from_config(cfg))
    cfg["resources"]["gpu"]["gpu_model"] = "l4"  # 24 GB: the same budget no longer fits
    raises(cfg, r"graphs\.batch_size", r"'l4' has 24 GB")
    # a rule sent to another card is checked against that card (it passed on the class's h100)
    cfg["resources"]["gpu"]["gpu_model"] = "h100"
    cfg["resources"].setdefault("rules", {})["graphs_build"] = {"gpu_model": "l4"}
    raises(cfg, r"graphs\.batch_size", r"resources\.rules\.graphs_build\.gpu_model 'l4' has 24 GB")
    cfg["resources"]["rules"] = {"train_transcoders": {"gpu_model": "l4"}}
    raises(cfg, r"transcoders\.group_size", r"resources\.rules\.train_transcoders\.gpu_model 'l4' has 24 GB")


def test_every_grid_point_must_fit_its_graphs():
    """Before the sweep has chosen, it may choose any grid point: one whose graphs cannot fit the GPU
    at any batch size (the active features' rows: context x layers x k of them) fails at start,
    naming the points and the grid key, and the suggested grid passes."""
    cfg = real_config()
    cfg["sweep"]["grid"]["k"] = [16, 32, 64, 128]
    msg = raises(cfg, r"expansion 32 k 64 \(~\d+ GB\)", r"expansion 64 k 128", r"Set sweep\.grid\.k without \[64, 128\]",
                 r"graphs\.max_context: \d+ \(or less\), which k 128 allows at graphs\.batch_size: 1")
    from r1interp.config import ConfigError
    from r1interp.guardrails import Guardrails, check_graph_memory, check_guardrails

    context = int(re.search(r"graphs\.max_context: (\d+)", msg).group(1))
    short = {**cfg, "graphs": {**cfg["graphs"], "max_context": context, "batch_size": 1}}
    check_graph_memory(short, Guardrails.from_config(short))  # the suggested context fits every grid point
    short["graphs"]["max_context"] = context + 64
    with pytest.raises(ConfigError, match="k 128"):
        check_graph_memory(short, Guardrails.from_config(short))
    cfg["sweep"]["grid"]["k"] = [16, 32]
    check_guardrails(cfg)
    cfg["graphs"]["max_context"] = 6912  # twice the context: k 32 no longer fits either
    raises(cfg, r"k 32 \(~\d+ GB\)")


def test_every_grid_point_must_train_in_one_group_per_job():
    """Seven 197k-latent transcoders with gradients and ScheduleFree's z, plus one layer's dense
    pre-activations, do not fit one 80 GB GPU: a grid with expansion 128 fails at start naming a group
    size that fits, and the doctor reports the same estimate as the guardrail."""
    from pathlib import Path

    from r1interp.config import load_config
    from r1interp.doctor.checks import memory_checks, model_shapes
    from r1interp.guardrails import check_guardrails, training_memory

    cfg = real_config()
    cfg["sweep"]["grid"]["expansion_factor"] = [32, 64, 128]
    msg = raises(cfg, r"transcoders\.group_size \(7 layers per job\) does not fit", r"expansion 128 \(~\d+ GB\)",
                 r"sweep\.grid\.expansion_factor without \[128\]")
    fits = int(re.search(r"Set transcoders\.group_size: (\d+)", msg).group(1))
    assert 1 <= fits < 7
    cfg["transcoders"]["group_size"] = fits
    check_guardrails(cfg)
    shape = model_shapes(cfg, lambda path: None)[0]
    doctor = next(c for c in memory_checks(cfg, [shape], [("H100", 80 * 2**30)], Path("/nonexistent")) if c.area == "GPU memory (training)")
    expected = training_memory(shape.model_dims, 128 * 1536, fits, cfg["transcoders"], 2).gpu_gb * 1e9 / 2**30
    assert f"~{expected:.1f} GiB" in doctor.detail and doctor.status == "ok"


def test_the_feature_row_term_is_what_circuit_tracer_allocates():
    """``V`` of the memory model against the encoder and decoder rows circuit-tracer's
    ``compute_attribution_components`` returns, on real-width transcoders (d 1536, TopK k 32)."""
    import torch
    from circuit_tracer.transcoder import TranscoderSet

    from r1interp.core.dims import ModelDims
    from r1interp.graphs.adapter import FEATURE_INPUT_HOOK, FEATURE_OUTPUT_HOOK, to_single_layer
    from r1interp.guardrails import active_feature_vector_bytes
    from transcoders_helpers import random_transcoder

    d, n_layers, k, context = 1536, 2, 32, 40
    layers = {i: to_single_layer(random_transcoder(d, 2 * d, k, seed=i), i) for i in range(n_layers)}
    tset = TranscoderSet(layers, feature_input_hook=FEATURE_INPUT_HOOK, feature_output_hook=FEATURE_OUTPUT_HOOK)
    parts = tset.compute_attribution_components(torch.randn(n_layers, context, d, generator=torch.Generator().manual_seed(0)))
    held = sum(parts[key].numel() * parts[key].element_size() for key in ("encoder_vecs", "decoder_vecs"))
    dims = ModelDims(n_layers=n_layers, d=d)
    assert held == 2 * active_feature_vector_bytes(dims, k, context, 4)


def test_graph_nodes_that_cannot_fit_host_memory():
    cfg = real_config()
    cfg["graphs"]["max_feature_nodes"] = 8192
    raises(cfg, r"graphs\.max_feature_nodes: 8192 needs ~\d+ GB of host memory", r"resources\.rules\.graphs_build\.mem_mb: \d+",
           r"graphs\.max_feature_nodes: \d+ \(or less\)")


def test_a_selection_made_on_other_models_does_not_size_the_real_run(tmp_path, monkeypatch):
    """A checkout that ran the toy default holds the toy's ``results/sweep/selected.yaml`` (k 16);
    the real config's guardrails and plans must not size the real pair's dictionaries by it."""
    import yaml

    from r1interp.core.dims import dict_dims

    cfg = real_config()
    grid = cfg["sweep"]["grid"]
    worst = (max(grid["expansion_factor"]) * 1536, max(grid["k"]))
    sweep = tmp_path / "results" / "sweep"
    sweep.mkdir(parents=True)
    toy_pick = {"expansion_factor": 16, "k": 16, "lr": 0.003, "skip_connection": True}
    (sweep / "selected.yaml").write_text(yaml.safe_dump({"sweep_model": "toy-reasoner", "selected": toy_pick}))
    dd = dict_dims(cfg, 1536, results=tmp_path / "results")
    assert (dd.n_latents, dd.k) == worst
    monkeypatch.chdir(tmp_path)  # the guardrails read results/ from the working directory, as the workflow runs
    cfg["graphs"]["max_feature_nodes"] = 8192
    raises(cfg, r"graphs\.max_feature_nodes: 8192 needs ~\d+ GB of host memory")
    # a selection made on one of the real pair's models is the real run's own, and is used
    (sweep / "selected.yaml").write_text(yaml.safe_dump({"sweep_model": cfg["run"]["models"][0], "selected": {**toy_pick, "expansion_factor": 32}}))
    dd = dict_dims(cfg, 1536, results=tmp_path / "results")
    assert (dd.n_latents, dd.k) == (32 * 1536, 16)

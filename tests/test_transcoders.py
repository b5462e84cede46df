"""Transcoder training through sparsify: hookpoint, TopK, loader equivalence, resume, bad files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from r1interp.artifacts.transcoder import TranscoderFileError, load_transcoder
from r1interp.core.groups import group_of, layer_groups, parse_layers
from r1interp.core.hooks import capture_mlp_io
from r1interp.core.packing import pack_rows, packed_dataset
from r1interp.core.settings import TrainSettings, read_selected
from r1interp.core.train import META_FILE, CheckpointError, build_trainer, hookpoint, train_group
from r1interp.models import load_model
from transcoders_helpers import FAST, RESUME, torch_threads


@pytest.fixture(scope="module")
def model(tiny_trained_model_dir):
    m, _ = load_model(tiny_trained_model_dir, "cpu", "float32")
    return m


@pytest.fixture(scope="module")
def dataset(tiny_shards):
    return packed_dataset(tiny_shards["train"], FAST.seq_len, FAST.n_rows, FAST.seed)


@pytest.fixture(scope="module")
def trained(model, dataset, tmp_path_factory):
    """All three layers trained as one group (one forward per batch)."""
    root = tmp_path_factory.mktemp("trained")
    manifest = train_group(model, [0, 1, 2], dataset, FAST, root / "G0", root / "ckpt")
    return root / "G0", manifest


def test_groups_and_layer_parsing():
    assert layer_groups(6, 2) == [[0, 1], [2, 3], [4, 5]]
    assert layer_groups(5, 2) == [[0, 1], [2, 3], [4]]
    assert layer_groups(4, 0) == [[0, 1, 2, 3]]
    assert layer_groups(3, 1) == [[0], [1], [2]]
    assert group_of(4, 5, 2) == 2
    assert parse_layers("0-2,5") == [0, 1, 2, 5]
    with pytest.raises(ValueError):
        group_of(7, 5, 2)


def test_pack_rows_is_deterministic_and_covers_budget():
    docs = [[i] * (3 + i % 5) for i in range(40)]
    a = pack_rows(docs, 8, 30, seed=1)
    b = pack_rows(docs, 8, 30, seed=1)
    assert a.shape == (30, 8) and (a == b).all()
    assert not (a == pack_rows(docs, 8, 30, seed=2)).all()


def test_training_hookpoint_is_the_mlp_not_the_block(model, dataset, tmp_path):
    """What sparsify trains on (the SparseCoder's x and y) equals the MLP input/output captured by
    our own hooks — and differs from the decoder block's input (the residual stream)."""
    from datasets import Dataset

    one_batch = Dataset.from_dict({"input_ids": dataset["input_ids"][: FAST.batch_size].tolist()}).with_format("torch")
    trainer = build_trainer(model, [1], one_batch, FAST, tmp_path / "ckpt")
    assert trainer.cfg.hookpoints == ["layers.1.mlp"]
    assert model.base_model.get_submodule(hookpoint(1)) is model.model.layers[1].mlp
    seen = {}
    trainer.saes["layers.1.mlp"].register_forward_hook(
        lambda _m, _a, kwargs, _o: seen.update(x=kwargs["x"].detach().clone(), y=kwargs["y"].detach().clone()), with_kwargs=True
    )
    block_inputs = []
    model.model.layers[1].register_forward_pre_hook(lambda _m, args: block_inputs.append(args[0].detach().clone()))
    captured: list = []
    try:
        with capture_mlp_io(model, 1, captured):
            trainer.fit()
    finally:
        model.model.layers[1]._forward_pre_hooks.clear()
    mlp_in, mlp_out = captured[-1]
    torch.testing.assert_close(seen["x"], mlp_in.flatten(0, 1), rtol=0, atol=0)
    torch.testing.assert_close(seen["y"], mlp_out.flatten(0, 1), rtol=0, atol=0)
    assert (seen["x"] - block_inputs[-1].flatten(0, 1)).abs().max() > 1e-3  # not the pre-norm residual


def test_model_runs_only_up_to_last_hooked_layer(model, dataset, tmp_path):
    calls = {"layer0": 0, "layer1": 0, "layer2": 0, "lm_head": 0}
    mods = {"layer0": model.model.layers[0], "layer1": model.model.layers[1], "layer2": model.model.layers[2], "lm_head": model.lm_head}
    handles = [m.register_forward_pre_hook(lambda _m, _a, n=name: calls.__setitem__(n, calls[n] + 1)) for name, m in mods.items()]
    try:
        man = train_group(model, [0], dataset, FAST, tmp_path / "G0", tmp_path / "ckpt")
    finally:
        for h in handles:
            h.remove()
    assert calls["layer1"] == calls["layer2"] == calls["lm_head"] == 0
    assert calls["layer0"] == man["steps"] + 1  # + sparsify's width-probing dummy forward
    assert model(torch.tensor([[1, 2, 3]])).logits.shape[-1] == model.config.vocab_size  # model intact after


def test_outputs_layout_and_topk(trained, model, tiny_shards):
    group_dir, manifest = trained
    assert manifest["layers"] == [0, 1, 2] and manifest["hookpoints"] == ["layers.0.mlp", "layers.1.mlp", "layers.2.mlp"]
    from r1interp.core.batches import load_eval_docs, make_batches
    from r1interp.core.metrics import evaluate_layer

    docs = load_eval_docs(tiny_shards["eval"], 1500)
    for layer in range(3):
        cfg = json.loads((group_dir / f"L{layer}" / "cfg.json").read_text())
        assert cfg["transcode"] and cfg["skip_connection"] and cfg["activation"] == "topk" and cfg["k"] == FAST.k
        tc = load_transcoder(group_dir / f"L{layer}")
        assert tc.num_latents == FAST.expansion_factor * model.config.hidden_size
        res = evaluate_layer(model, layer, tc, make_batches(docs, 8))
        assert res["l0_max"] <= FAST.k  # TopK respected on every token
        assert 0 < res["l0"] <= FAST.k
        assert res["fvu"] < 0.9  # it learned something


def test_loader_equals_sparsify_forward(trained, model, tiny_shards):
    from sparsify import SparseCoder

    from r1interp.artifacts.shards import read_shard_lists

    group_dir, _ = trained
    ids = torch.tensor([read_shard_lists(tiny_shards["eval"])["input_ids"][0][:64]])
    for layer in range(3):
        captured: list = []
        with capture_mlp_io(model, layer, captured), torch.no_grad():
            model(ids)
        x = torch.cat([captured[0][0].flatten(0, 1), torch.randn(16, model.config.hidden_size)])
        ours = load_transcoder(group_dir / f"L{layer}")
        theirs = SparseCoder.load_from_disk(group_dir / f"L{layer}")
        with torch.no_grad():
            a, b = ours(x), theirs(x).sae_out
        assert (a - b).abs().max() < 1e-5
        assert b.abs().max() > 1e-2  # a non-trivial output


def test_circuit_tracer_export_matches_loader(trained, tmp_path):
    from r1interp.artifacts.transcoder import load_transcoder_set
    from r1interp.transcoders.export import export_circuit_tracer

    group_dir, _ = trained
    cfg = export_circuit_tracer({i: group_dir / f"L{i}" for i in range(3)}, tmp_path / "ct", scan="test/tiny")
    assert cfg["feature_input_hook"] == "mlp.hook_in" and cfg["k"] == FAST.k
    tensors = load_file(str(tmp_path / "ct" / "layer_1.safetensors"))
    assert sorted(tensors) == ["W_dec", "W_enc", "W_skip", "b_dec", "b_enc"]
    tset = load_transcoder_set(tmp_path / "ct")
    x = torch.randn(20, 32)
    for layer in range(3):
        ours = load_transcoder(group_dir / f"L{layer}")
        with torch.no_grad():
            assert (tset[layer](x) - ours(x)).abs().max() < 1e-5


def test_bad_files_give_errors_naming_them(trained, tmp_path):
    import shutil

    from r1interp.transcoders.__main__ import main as tc_main

    group_dir, _ = trained
    bad = tmp_path / "L1"
    shutil.copytree(group_dir / "L1", bad)
    (bad / "sae.safetensors").write_bytes(b"\x00\x01not a safetensors file")
    with pytest.raises(TranscoderFileError, match=str(bad / "sae.safetensors")):
        load_transcoder(bad)
    (bad / "cfg.json").write_text("{broken")
    with pytest.raises(TranscoderFileError, match="cfg.json"):
        load_transcoder(bad)
    # the link step refuses a broken group output, naming the file
    broken_group = tmp_path / "G"
    shutil.copytree(group_dir, broken_group)
    (broken_group / "L2" / "sae.safetensors").write_bytes(b"garbage")
    with pytest.raises(TranscoderFileError, match=str(broken_group / "L2" / "sae.safetensors")):
        tc_main(["link", "--group-dir", str(broken_group), "--layer", "2", "--out-dir", str(tmp_path / "out")])
    # selection file errors name the file
    sel = tmp_path / "selected.yaml"
    sel.write_text("selected: {k: 4}\n")
    with pytest.raises(ValueError, match="selected.yaml.*lacks"):
        read_selected(sel)


KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, torch
    torch.set_num_threads(1)
    from r1interp.core.packing import packed_dataset
    from r1interp.core.train import train_group
    from r1interp.models import load_model
    sys.path.insert(0, {tests!r})
    from transcoders_helpers import RESUME
    model, _ = load_model({model!r}, "cpu", "float32")
    ds = packed_dataset({shard!r}, RESUME.seq_len, RESUME.n_rows, RESUME.seed)
    n = [0]
    def pre(_m, _a):
        n[0] += 1
        if n[0] == {kill_at}:
            os.kill(os.getpid(), signal.SIGKILL)
    model.register_forward_pre_hook(pre)
    train_group(model, [0, 2], ds, RESUME, {out!r}, {ckpt!r})
    """
)


def test_resume_after_sigkill_continues_from_checkpoint(tiny_trained_model_dir, tiny_shards, tmp_path):
    """A training process killed with SIGKILL leaves its last checkpoint; the rerun resumes from it
    (not from scratch) and ends with exactly the weights of an uninterrupted run."""
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), model=str(tiny_trained_model_dir), shard=str(tiny_shards["train"]),
                                kill_at=9, out=str(tmp_path / "killed" / "G"), ckpt=str(tmp_path / "killed" / "ckpt"))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not (tmp_path / "killed" / "G").exists()
    state = torch.load(tmp_path / "killed" / "ckpt" / "run" / "state.pt", weights_only=True)
    assert 0 < state["global_step"] < 12

    with torch_threads(1):
        model, _ = load_model(tiny_trained_model_dir, "cpu", "float32")
        ds = packed_dataset(tiny_shards["train"], RESUME.seq_len, RESUME.n_rows, RESUME.seed)
        resumed = train_group(model, [0, 2], ds, RESUME, tmp_path / "killed" / "G", tmp_path / "killed" / "ckpt")
        reference = train_group(model, [0, 2], ds, RESUME, tmp_path / "ref" / "G", tmp_path / "ref" / "ckpt")
    assert resumed["resumed_from_batch"] == state["global_step"]
    assert reference["resumed_from_batch"] == 0
    assert not (tmp_path / "killed" / "ckpt").exists()  # cleaned up after success
    for layer in (0, 2):
        a = load_file(str(tmp_path / "killed" / "G" / f"L{layer}" / "sae.safetensors"))
        b = load_file(str(tmp_path / "ref" / "G" / f"L{layer}" / "sae.safetensors"))
        for name in b:
            torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6)


def stopped_at_batch_4(model, dataset, tmp_path):
    """Train layer 1 with a checkpoint every batch and stop at the 4th; returns (dataset, settings, checkpoint dir)."""
    from datasets import Dataset

    small = Dataset.from_dict({"input_ids": dataset["input_ids"][:32].tolist()}).with_format("torch")
    s = TrainSettings(**{**FAST.__dict__, "save_every": 1})
    ckpt = tmp_path / "ckpt"

    class Stop(Exception):
        pass

    n = [0]

    def pre(_m, _a):
        n[0] += 1
        if n[0] == 4:
            raise Stop

    h = model.register_forward_pre_hook(pre)
    try:
        with pytest.raises(Stop):
            train_group(model, [1], small, s, tmp_path / "G", ckpt)
    finally:
        h.remove()
    return small, s, ckpt


def test_corrupt_resume_checkpoint_is_named(model, dataset, tmp_path):
    small, s, ckpt = stopped_at_batch_4(model, dataset, tmp_path)
    victim = ckpt / "run" / "layers.1.mlp" / "sae.safetensors"
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=str(victim)):
        train_group(model, [1], small, s, tmp_path / "G", ckpt)


def test_train_cli_validates_before_work(tiny_model_dir, tiny_shards, tmp_path):
    from r1interp.transcoders.__main__ import main as tc_main

    base = ["train", "--model-dir", str(tiny_model_dir), "--out-dir", str(tmp_path / "G"), "--checkpoint-dir", str(tmp_path / "c")]
    with pytest.raises(SystemExit, match="train shard not found"):
        tc_main(base + ["--train-shard", str(tmp_path / "nope.parquet"), "--layers", "0"])
    with pytest.raises(SystemExit, match=r"--layers \[7\] outside 0..2"):
        tc_main(base + ["--train-shard", str(tiny_shards["train"]), "--layers", "0,7"])
    with pytest.raises(ValueError, match="invalid transcoder settings: k=0"):
        tc_main(base + ["--train-shard", str(tiny_shards["train"]), "--layers", "0", "--k", "0"])
    assert os.listdir(tmp_path) == []


def test_cli_train_link_export_card(tiny_trained_model_dir, tiny_shards, tmp_path):
    """The stage's commands chained on real files, as the Snakemake rules call them."""
    import yaml

    from r1interp.evaluate.__main__ import main as ev_main
    from r1interp.transcoders.__main__ import main as tc_main

    sel = tmp_path / "selected.yaml"
    sel.write_text(yaml.safe_dump({"point": "e2_k4_lrauto_skip1", "rule": "min_ce",
                                   "selected": {"expansion_factor": 2, "k": 4, "lr": None, "skip_connection": True}}))
    root = tmp_path / "transcoders"
    for g, layers in enumerate(([0, 1], [2])):
        tc_main(["train", "--model-dir", str(tiny_trained_model_dir), "--train-shard", str(tiny_shards["train"]),
                 "--layers", ",".join(map(str, layers)), "--out-dir", str(root / "groups" / f"G{g}"),
                 "--checkpoint-dir", str(root / ".checkpoints" / f"G{g}"), "--selected", str(sel), "--device", "cpu",
                 "--train-tokens", "1024", "--seq-len", "64", "--batch-size", "8"])
        for layer in layers:
            tc_main(["link", "--group-dir", str(root / "groups" / f"G{g}"), "--layer", str(layer), "--out-dir", str(root / f"L{layer}")])
    man = json.loads((root / "groups" / "G0" / "manifest.json").read_text())
    assert man["settings"]["k"] == 4 and man["settings"]["expansion_factor"] == 2 and man["layers"] == [0, 1]
    assert os.stat(root / "L1" / "sae.safetensors").st_ino == os.stat(root / "groups" / "G0" / "L1" / "sae.safetensors").st_ino
    assert load_transcoder(root / "L2").num_latents == 64

    common = ["--model-dir", str(tiny_trained_model_dir), "--eval-shard", str(tiny_shards["eval"]), "--max-tokens", "400", "--device", "cpu"]
    for layer in range(3):
        ev_main(["layer", *common, "--transcoder", str(root / f"L{layer}"), "--layer", str(layer), "--out", str(tmp_path / f"L{layer}.json")])
    ev_main(["full", *common, "--transcoders-root", str(root), "--out", str(tmp_path / "full.json")])
    ev_main(["table", "--layer-json", *[str(tmp_path / f"L{i}.json") for i in range(3)], "--full", str(tmp_path / "full.json"),
             "--out-parquet", str(tmp_path / "layers.parquet"), "--out-md", str(tmp_path / "summary.md"), "--model-name", "tiny"])

    tc_main(["export", "--model-dir", str(tiny_trained_model_dir), "--transcoders-root", str(root), "--out-dir", str(root / "circuit_tracer"),
             "--scan", "r1interp/tiny"])
    ct = yaml.safe_load((root / "circuit_tracer" / "config.yaml").read_text())
    assert ct["transcoders"] == ["layer_0.safetensors", "layer_1.safetensors", "layer_2.safetensors"] and ct["k"] == 4

    card = ["card", "--model-name", "tiny", "--base-model", "org/tiny-model", "--model-dir", str(tiny_trained_model_dir), "--license", "apache-2.0",
            "--layers-parquet", str(tmp_path / "layers.parquet"), "--full", str(tmp_path / "full.json"), "--out", str(root / "README.md")]
    g0, g1 = (root / "groups" / "G0").as_posix(), (root / "groups" / "G1").as_posix()
    tc_main([*card, "--layer-dirs", g0, g0, g1, "--selected", str(sel)])
    text = (root / "README.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["base_model"] == "org/tiny-model" and meta["library_name"] == "sparsify" and meta["license"] == "apache-2.0"
    assert "transcoder" in meta["tags"]
    assert "## Faithfulness" in text and "All layers replaced at once" in text and "SparseCoder.load_from_disk" in text
    assert text.count("\n| 0 |") == 1 and f"| {g0} | [0, 1] | {man['tokens']} |" in text and f"| {g1} | [2] |" in text
    layers = pd.read_parquet(tmp_path / "layers.parquet")
    assert f"never fired on the {int(layers['n_mlp_tokens'].iloc[0])} evaluation tokens" in text  # dead_pct's own count
    assert "Targets: CE increase < 0.1 nats per layer (ideal < 0.05), dead latents < 10%" in text and "in the trained weights' dtype" in text

    # layer 2 retrained alone with its own settings; targets, a fallback selection and a bf16 export as configured
    tc_main(["train", "--model-dir", str(tiny_trained_model_dir), "--train-shard", str(tiny_shards["train"]), "--layers", "2",
             "--out-dir", str(root / "alone" / "L2"), "--checkpoint-dir", str(root / ".checkpoints" / "alone-L2"), "--selected", str(sel),
             "--device", "cpu", "--train-tokens", "512", "--seq-len", "64", "--batch-size", "8"])
    sel.write_text(yaml.safe_dump({**yaml.safe_load(sel.read_text()), "fallback": True}))
    alone = (root / "alone" / "L2").as_posix()
    tc_main([*card, "--layer-dirs", g0, g0, alone, "--selected", str(sel), "--ce", "0.02", "--dead-pct", "15", "--export-dtype", "bfloat16"])
    text = (root / "README.md").read_text()
    alone_tokens = json.loads((root / "alone" / "L2" / "manifest.json").read_text())["tokens"]
    assert alone_tokens < man["tokens"] and f"| {alone} | [2] | {alone_tokens} |" in text and g1 not in text
    assert "not all trained with the same settings" in text
    assert "Targets: CE increase < 0.02 nats per layer (ideal < 0.05), dead latents < 15%" in text
    assert "a FALLBACK" in text and "rounded to bfloat16" in text


def test_a_kill_between_the_checkpoint_renames_still_resumes(model, dataset, tmp_path):
    """atomic_path replaces ``run`` by renaming it to ``.run.old-<pid>`` and the new one from
    ``.run.tmp-<pid>``; a kill between the two left no ``run``, and training restarted from batch 0."""
    import shutil

    small, s, ckpt = stopped_at_batch_4(model, dataset, tmp_path)
    done = json.loads((ckpt / "run" / META_FILE).read_text())["batches_done"]
    (ckpt / "run").rename(ckpt / ".run.old-12345")  # the window: the old one moved aside, the new one not yet in place
    shutil.copytree(ckpt / ".run.old-12345", ckpt / ".run.tmp-12345")
    victim = ckpt / ".run.tmp-12345" / "layers.1.mlp" / "sae.safetensors"
    victim.write_bytes(victim.read_bytes()[:100])  # a new checkpoint cut short: ignored, the old one is whole
    result = train_group(model, [1], small, s, tmp_path / "G", ckpt)
    assert done > 0 and result["resumed_from_batch"] == done

"""Transcoder training resumes only what it should: the fingerprint covers the model's weights,
dtype and device; a checkpoint must be complete file by file; a run killed after its final
checkpoint exports that checkpoint as it is; a discarded checkpoint names what changed."""

from __future__ import annotations

import json
import logging
import shutil

import pytest
import torch
from safetensors.torch import load_file

from r1interp.core import train as train_mod
from r1interp.core.packing import packed_dataset
from r1interp.core.settings import TrainSettings
from r1interp.core.train import META_FILE, CheckpointError, model_identity, train_group
from r1interp.models import load_model
from transcoders_helpers import FAST, torch_threads

SETTINGS = TrainSettings(**{**FAST.__dict__, "save_every": 1})  # a checkpoint after every batch


class Stop(Exception):
    pass


@pytest.fixture(scope="module")
def small(tiny_shards):
    from datasets import Dataset

    ds = packed_dataset(tiny_shards["train"], FAST.seq_len, FAST.n_rows, FAST.seed)
    return Dataset.from_dict({"input_ids": ds["input_ids"][:32].tolist()}).with_format("torch")  # 4 batches


@pytest.fixture
def model_dir(tiny_model_dir, tmp_path):
    """A private copy of the tiny model (tests rewrite its weights)."""
    d = tmp_path / "model"
    shutil.copytree(tiny_model_dir, d)
    return d


def killed_after(model, n_forwards, *args) -> int:
    """Run train_group, stop it (like a kill) when model forward ``n_forwards + 1`` starts, and
    return the number of batches its last checkpoint holds (at least one)."""
    n = [0]

    def pre(_m, _a):
        n[0] += 1
        if n[0] == n_forwards + 1:
            raise Stop

    h = model.register_forward_pre_hook(pre)
    try:
        with pytest.raises(Stop):
            train_group(model, *args)
    finally:
        h.remove()
    meta = json.loads((args[-1] / "run" / META_FILE).read_text())
    assert 1 <= meta["batches_done"] < 4 and not meta["final"]
    return meta["batches_done"]


def test_other_weights_under_the_same_name_start_from_scratch(model_dir, small, tmp_path, caplog):
    model, _ = load_model(model_dir, "cpu", "float32")
    ckpt = tmp_path / "ckpt"
    killed_after(model, 3, [1], small, SETTINGS, tmp_path / "G", ckpt)
    # the model entry now points at other weights (same directory, same registry name)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    model.save_pretrained(model_dir)
    other, _ = load_model(model_dir, "cpu", "float32")
    caplog.set_level(logging.WARNING)
    manifest = train_group(other, [1], small, SETTINGS, tmp_path / "G", ckpt)
    assert manifest["resumed_from_batch"] == 0
    assert manifest["discarded_checkpoint"].startswith("model_weights:"), manifest["discarded_checkpoint"]
    assert "discarding checkpoint" in caplog.text and "model_weights" in caplog.text


def test_identity_covers_weights_dtype_and_device(model_dir):
    model, _ = load_model(model_dir, "cpu", "float32")
    ident = model_identity(model)
    assert ident["model_dtype"] == "torch.float32" and ident["model_device"] == "cpu"
    names = [f[0] for f in ident["model_weights"]["files"]]
    assert any(n.endswith(".safetensors") for n in names)
    assert model_identity(model.to(torch.bfloat16))["model_dtype"] == "torch.bfloat16"
    # a model built in memory is identified by its parameters
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = AutoConfig.from_pretrained(model_dir)
    cfg._name_or_path = ""  # built in memory: no directory names it
    mem = AutoModelForCausalLM.from_config(cfg)
    a = model_identity(mem)["model_weights"]
    with torch.no_grad():
        next(mem.parameters()).add_(1.0)
    assert "sha256" in a and model_identity(mem)["model_weights"] != a


def test_changed_setting_is_named(model_dir, small, tmp_path, caplog):
    model, _ = load_model(model_dir, "cpu", "float32")
    ckpt = tmp_path / "ckpt"
    killed_after(model, 3, [1], small, SETTINGS, tmp_path / "G", ckpt)
    caplog.set_level(logging.WARNING)
    changed = TrainSettings(**{**SETTINGS.__dict__, "lr": 0.02})
    manifest = train_group(model, [1], small, changed, tmp_path / "G", ckpt)
    assert manifest["resumed_from_batch"] == 0 and manifest["discarded_checkpoint"] == "lr: 0.01 → 0.02"
    assert "lr: 0.01 → 0.02" in caplog.text


@pytest.mark.parametrize("victim", ["rank_0_state.pt", "optimizer_0.pt", "layers.1.mlp/cfg.json"])
def test_incomplete_checkpoint_is_an_error_naming_the_file(model_dir, small, tmp_path, victim):
    model, _ = load_model(model_dir, "cpu", "float32")
    ckpt = tmp_path / "ckpt"
    killed_after(model, 3, [1], small, SETTINGS, tmp_path / "G", ckpt)
    (ckpt / "run" / victim).unlink()
    with pytest.raises(CheckpointError, match=f"{ckpt / 'run' / victim} is missing"):
        train_group(model, [1], small, SETTINGS, tmp_path / "G", ckpt)


def test_truncated_checkpoint_file_is_named(model_dir, small, tmp_path):
    model, _ = load_model(model_dir, "cpu", "float32")
    ckpt = tmp_path / "ckpt"
    killed_after(model, 3, [1], small, SETTINGS, tmp_path / "G", ckpt)
    victim = ckpt / "run" / "rank_0_state.pt"
    victim.write_bytes(victim.read_bytes()[:-7])
    with pytest.raises(CheckpointError, match=f"{victim} has"):
        train_group(model, [1], small, SETTINGS, tmp_path / "G", ckpt)


def test_killed_after_final_checkpoint_exports_it_bitwise(model_dir, small, tmp_path, monkeypatch):
    """Killed between the final checkpoint and the export: the rerun trains nothing and exports
    weights bitwise equal to an uninterrupted run."""
    with torch_threads(1):
        model, _ = load_model(model_dir, "cpu", "float32")
        reference = train_group(model, [0, 2], small, SETTINGS, tmp_path / "ref" / "G", tmp_path / "ref" / "ckpt")

        def die(*_a, **_k):
            raise Stop

        monkeypatch.setattr(train_mod, "export_layer_files", die)
        with pytest.raises(Stop):
            train_group(model, [0, 2], small, SETTINGS, tmp_path / "G", tmp_path / "ckpt")
        monkeypatch.undo()
        meta = json.loads((tmp_path / "ckpt" / "run" / META_FILE).read_text())
        assert meta["final"] and meta["batches_done"] == reference["steps"] == 4
        n = [0]
        h = model.register_forward_pre_hook(lambda *_: n.__setitem__(0, n[0] + 1))
        try:
            rerun = train_group(model, [0, 2], small, SETTINGS, tmp_path / "G", tmp_path / "ckpt")
        finally:
            h.remove()
    assert n[0] == 0 and rerun["exported_final_checkpoint"] and rerun["resumed_from_batch"] == 4
    assert not reference["exported_final_checkpoint"]
    for layer in (0, 2):
        a = load_file(str(tmp_path / "G" / f"L{layer}" / "sae.safetensors"))
        b = load_file(str(tmp_path / "ref" / "G" / f"L{layer}" / "sae.safetensors"))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in b)

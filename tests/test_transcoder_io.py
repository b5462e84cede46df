"""The shared loader refuses files it could not load faithfully, naming the file."""

from __future__ import annotations

import json

import pytest
from sparsify import SparseCoder, SparseCoderConfig

from r1interp.artifacts.transcoder import TranscoderFileError, load_transcoder


def test_autoencoder_checkpoint_is_refused(tmp_path):
    sc = SparseCoder(16, SparseCoderConfig(num_latents=32, k=4, transcode=False))
    sc.save_to_disk(tmp_path / "sae")
    with pytest.raises(TranscoderFileError, match=r"sae/cfg.json: transcode is false"):
        load_transcoder(tmp_path / "sae")


def test_truncated_weights_name_the_file(tmp_path):
    sc = SparseCoder(16, SparseCoderConfig(num_latents=32, k=4, transcode=True, skip_connection=True))
    sc.save_to_disk(tmp_path / "tc")
    weights = tmp_path / "tc" / "sae.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(TranscoderFileError, match=r"cannot read transcoder weights .*tc/sae.safetensors"):
        load_transcoder(tmp_path / "tc")
    cfg = json.loads((tmp_path / "tc" / "cfg.json").read_text())
    assert cfg["transcode"] is True

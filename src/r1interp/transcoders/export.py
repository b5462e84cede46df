"""circuit-tracer-ready export of a model's per-layer transcoders.

Layout (``results/{model}/transcoders/circuit_tracer/``)::

    layer_{i}.safetensors   W_enc [n_latents, d], b_enc, W_dec [n_latents, d], b_dec [d], W_skip [d, d]
    config.yaml             model_kind: transcoder_set, scan, feature_input_hook: mlp.hook_in,
                            feature_output_hook: mlp.hook_out, transcoders: [layer files, relative],
                            activation: relu_topk, k

Why the extra ``activation``/``k`` keys: circuit-tracer's ``load_relu_transcoder`` gives ReLU,
and its ``TopK`` skips the ReLU; sparsify's forward is relu → topk(k). :func:`r1interp.artifacts.transcoder.load_transcoder_set`
builds the ``TranscoderSet`` with its ``ReluTopK`` so the forward matches sparsify's exactly.
Hooks are ``mlp.hook_in``/``mlp.hook_out`` (post-norm MLP input/output); ``hook_mlp_in`` would be
the pre-norm residual.
"""

from __future__ import annotations

from pathlib import Path

import torch
import yaml
from torch import Tensor

from r1interp.artifacts.transcoder import CT_CONFIG_FILE, FEATURE_INPUT_HOOK, FEATURE_OUTPUT_HOOK, SkipTranscoder, load_transcoder
from r1interp.artifacts.write import write_safetensors, write_text



def circuit_tracer_tensors(tc: SkipTranscoder, dtype: torch.dtype | None = None) -> dict[str, Tensor]:
    """sparsify names → circuit-tracer names (``encoder.weight→W_enc``, ``encoder.bias→b_enc``)."""
    out = {"W_enc": tc.W_enc, "b_enc": tc.b_enc, "W_dec": tc.W_dec, "b_dec": tc.b_dec}
    if tc.W_skip is not None:
        out["W_skip"] = tc.W_skip
    return {k: v.detach().to("cpu", dtype or v.dtype).contiguous() for k, v in out.items()}


def export_circuit_tracer(layer_dirs: dict[int, str | Path], out_dir: str | Path, scan: str, dtype: torch.dtype | None = None) -> dict:
    """Write one ``layer_{i}.safetensors`` per layer plus ``config.yaml``; layers must be 0..n-1."""
    out_dir = Path(out_dir)
    layers = sorted(layer_dirs)
    if layers != list(range(len(layers))):
        raise ValueError(f"circuit-tracer needs a transcoder for every layer 0..n-1, got {layers}")
    ks = set()
    files = []
    for layer in layers:
        tc = load_transcoder(layer_dirs[layer])
        ks.add(tc.k)
        name = f"layer_{layer}.safetensors"
        write_safetensors(circuit_tracer_tensors(tc, dtype), out_dir / name)
        files.append(name)
    if len(ks) != 1:
        raise ValueError(f"transcoders disagree on k: {sorted(ks)}")
    config = {
        "model_kind": "transcoder_set",
        "scan": scan,
        "feature_input_hook": FEATURE_INPUT_HOOK,
        "feature_output_hook": FEATURE_OUTPUT_HOOK,
        "transcoders": files,
        "activation": "relu_topk",
        "k": ks.pop(),
    }
    write_text(yaml.safe_dump(config, sort_keys=False), out_dir / CT_CONFIG_FILE)
    return config

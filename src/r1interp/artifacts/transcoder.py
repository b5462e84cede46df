"""The one transcoder loader every stage uses.

Files are sparsify's own checkpoint layout (``cfg.json`` + ``sae.safetensors`` with
``encoder.weight [n_latents, d]``, ``encoder.bias``, ``W_dec [n_latents, d]``, ``b_dec [d]``,
``W_skip [d, d]``), so a directory written by ``sparsify.SparseCoder.save_to_disk`` loads here
and vice versa. The forward is sparsify's transcoder forward on the post-norm MLP input::

    acts = topk(relu(x W_enc^T + b_enc), k)       # TopK *after* ReLU, not ReLU alone
    y    = acts W_dec + b_dec + x W_skip^T

The circuit-tracer export of a model's transcoders (``transcoders/circuit_tracer/``: one
``layer_{i}.safetensors`` per layer plus ``config.yaml`` naming the hooks, ``activation: relu_topk``
and ``k``) is written by :mod:`r1interp.transcoders.export` and read by :func:`load_transcoder_set`,
which gives circuit-tracer's ``TranscoderSet`` the same relu → topk(k) activation (:class:`ReluTopK`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor, nn

CFG_FILE = "cfg.json"
WEIGHTS_FILE = "sae.safetensors"
CT_CONFIG_FILE = "config.yaml"  # of the circuit-tracer export
FEATURE_INPUT_HOOK = "mlp.hook_in"  # post-norm MLP input (ReplacementMLP.hook_in); NOT hook_mlp_in (pre-norm)
FEATURE_OUTPUT_HOOK = "mlp.hook_out"  # MLP output


class TranscoderFileError(ValueError):
    """A transcoder directory is missing, incomplete or inconsistent; the message names the file."""


@dataclass(frozen=True)
class TranscoderMeta:
    d_in: int
    num_latents: int
    k: int
    skip_connection: bool
    transcode: bool


def topk_dense(x: Tensor, k: int) -> Tensor:
    """Keep the ``k`` largest values per token (last dim), zeros elsewhere: sparsify's TopK."""
    vals, idx = x.topk(min(k, x.shape[-1]), dim=-1, sorted=False)
    return torch.zeros_like(x).scatter_(-1, idx, vals)


class ReluTopK(nn.Module):
    """relu then keep the k largest per token — sparsify's TopK activation."""

    def __init__(self, k: int):
        super().__init__()
        self.k = int(k)

    def forward(self, x: Tensor) -> Tensor:
        return topk_dense(torch.relu(x), self.k)

    def extra_repr(self) -> str:
        return f"k={self.k}"


class SkipTranscoder(nn.Module):
    """TopK skip transcoder with sparsify's exact forward (see module docstring)."""

    def __init__(self, W_enc: Tensor, b_enc: Tensor, W_dec: Tensor, b_dec: Tensor, W_skip: Tensor | None, k: int):
        super().__init__()
        self.W_enc = nn.Parameter(W_enc)  # [n_latents, d]
        self.b_enc = nn.Parameter(b_enc)  # [n_latents]
        self.W_dec = nn.Parameter(W_dec)  # [n_latents, d]
        self.b_dec = nn.Parameter(b_dec)  # [d]
        self.W_skip = nn.Parameter(W_skip) if W_skip is not None else None  # [d, d]
        self.k = int(k)

    @property
    def d_in(self) -> int:
        return self.W_enc.shape[1]

    @property
    def num_latents(self) -> int:
        return self.W_enc.shape[0]

    def pre_acts(self, x: Tensor) -> Tensor:
        return torch.relu(x.to(self.W_enc.dtype) @ self.W_enc.T + self.b_enc)

    def encode(self, x: Tensor) -> Tensor:
        """Dense activations [..., n_latents] with at most k non-zeros per token."""
        return topk_dense(self.pre_acts(x), self.k)

    def decode(self, acts: Tensor) -> Tensor:
        return acts.to(self.W_dec.dtype) @ self.W_dec + self.b_dec

    def skip(self, x: Tensor) -> Tensor:
        if self.W_skip is None:
            return torch.zeros_like(x, dtype=self.b_dec.dtype)
        return x.to(self.W_skip.dtype) @ self.W_skip.T

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x)) + self.skip(x)


def read_meta(path: str | Path) -> TranscoderMeta:
    path = Path(path)
    cfg_path = path / CFG_FILE
    if not cfg_path.is_file():
        raise TranscoderFileError(f"transcoder config not found: {cfg_path}")
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as e:
        raise TranscoderFileError(f"transcoder config {cfg_path} is not valid JSON: {e}") from e
    missing = [key for key in ("d_in", "k") if key not in cfg]
    if missing:
        raise TranscoderFileError(f"transcoder config {cfg_path} lacks keys {missing}")
    if not cfg.get("transcode", False):
        raise TranscoderFileError(
            f"{cfg_path}: transcode is false: a sparse autoencoder, not a transcoder (sparsify subtracts b_dec "
            "from an autoencoder's input, so it would not load faithfully here)"
        )
    if cfg.get("activation", "topk") != "topk":
        raise TranscoderFileError(f"{cfg_path}: activation {cfg.get('activation')!r} is not 'topk'")
    return TranscoderMeta(
        d_in=int(cfg["d_in"]),
        num_latents=int(cfg.get("num_latents") or 0) or int(cfg["d_in"]) * int(cfg.get("expansion_factor", 0)),
        k=int(cfg["k"]),
        skip_connection=bool(cfg.get("skip_connection", False)),
        transcode=bool(cfg.get("transcode", False)),
    )


def load_transcoder(path: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype | None = None) -> SkipTranscoder:
    """Load one sparsify checkpoint directory; raises TranscoderFileError naming the bad file."""
    path = Path(path)
    meta = read_meta(path)
    weights_path = path / WEIGHTS_FILE
    if not weights_path.is_file():
        raise TranscoderFileError(f"transcoder weights not found: {weights_path}")
    try:
        tensors = load_file(str(weights_path), device=str(device))
    except (SafetensorError, OSError, RuntimeError) as e:
        raise TranscoderFileError(f"cannot read transcoder weights {weights_path}: {e}") from e
    required = ["encoder.weight", "encoder.bias", "W_dec", "b_dec"] + (["W_skip"] if meta.skip_connection else [])
    missing = [name for name in required if name not in tensors]
    if missing:
        raise TranscoderFileError(f"{weights_path} lacks tensors {missing} (has {sorted(tensors)})")
    W_enc = tensors["encoder.weight"]
    if W_enc.shape[1] != meta.d_in or tensors["W_dec"].shape != W_enc.shape:
        raise TranscoderFileError(
            f"{weights_path}: shapes encoder.weight {tuple(W_enc.shape)}, W_dec {tuple(tensors['W_dec'].shape)} "
            f"do not match d_in={meta.d_in} in {path / CFG_FILE}"
        )
    tc = SkipTranscoder(
        W_enc, tensors["encoder.bias"], tensors["W_dec"], tensors["b_dec"], tensors.get("W_skip"), meta.k
    )
    if dtype is not None:
        tc = tc.to(dtype)
    return tc.requires_grad_(False)


def load_transcoders(paths: dict[int, str | Path], **kwargs) -> dict[int, SkipTranscoder]:
    """Load one transcoder per layer: ``{layer: directory}`` → ``{layer: SkipTranscoder}``."""
    return {layer: load_transcoder(p, **kwargs) for layer, p in sorted(paths.items())}


def load_transcoder_set(export_dir: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32):
    """circuit-tracer ``TranscoderSet`` from an export dir, with the exact relu→topk activation."""
    from circuit_tracer.transcoder.single_layer_transcoder import TranscoderSet, load_relu_transcoder

    export_dir = Path(export_dir)
    cfg_path = export_dir / CT_CONFIG_FILE
    if not cfg_path.is_file():
        raise FileNotFoundError(f"circuit-tracer export config not found: {cfg_path}")
    cfg = yaml.safe_load(cfg_path.read_text())
    if cfg.get("activation") != "relu_topk" or "k" not in cfg:
        raise ValueError(f"{cfg_path}: expected activation relu_topk with k")
    tcs = {}
    for layer, name in enumerate(cfg["transcoders"]):
        path = export_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"{cfg_path} lists {name}, not found: {path}")
        t = load_relu_transcoder(str(path), layer, device=torch.device(device), dtype=dtype, lazy_encoder=False, lazy_decoder=False)
        t.activation_function = ReluTopK(cfg["k"])
        tcs[layer] = t
    return TranscoderSet(tcs, feature_input_hook=cfg["feature_input_hook"], feature_output_hook=cfg["feature_output_hook"], scan=cfg["scan"])

"""Model and dictionary dimensions read from the configuration, without weights.

Why here: the guardrails (memory) and the cost plan (FLOPs) both need a model's widths and the
transcoder width before anything is trained; they come from the model's own ``config.json``
(local directory or the local HF cache, never the hub) and from the sweep grid or its selection.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass(frozen=True)
class ModelDims:
    """Widths of a Qwen2-style decoder (defaults: Qwen2.5-Math-1.5B / R1-Distill-Qwen-1.5B)."""

    n_layers: int = 28
    d: int = 1536
    d_mlp: int = 8960
    n_heads: int = 12
    n_kv_heads: int = 2
    vocab: int = 151936
    tied: bool = False

    @property
    def head_dim(self) -> int:
        return self.d // self.n_heads

    def block_params(self) -> int:
        """Weights of one decoder block (attention projections with q/k/v biases, SwiGLU MLP, norms)."""
        kv = 2 * self.n_kv_heads * self.head_dim
        attn = self.d * self.d + self.d * kv + (self.d + kv) + self.d * self.d
        return attn + 3 * self.d * self.d_mlp + 2 * self.d

    def params(self) -> int:
        """All weights (embedding once more for an untied head)."""
        emb = self.vocab * self.d
        return self.n_layers * self.block_params() + emb * (1 if self.tied else 2) + self.d

    def block_flops(self, context: int) -> float:
        """Forward FLOPs per token of one block: 2 per weight, + attention scores over ``context``
        positions (QK^T and AV, causal: half the positions on average, ×2 FLOPs per MAC)."""
        return 2.0 * self.block_params() + 2.0 * context * self.d

    def head_flops(self) -> float:
        return 2.0 * self.vocab * self.d


def dims_of(config: dict, model: str) -> ModelDims:
    """A registered model's dims: the toy section, or its config.json (local dir or local cache)."""
    entry = config["models"][model]
    if entry["source"] == "toy":
        return dims_from_config({**config["toy"]["model"], "vocab_size": config["toy"].get("vocab_size", 512),
                                 "tie_word_embeddings": False})
    cfg = read_model_config(entry["path"], entry.get("revision"))
    if cfg is None:
        _warn_once("no local config.json for %s (%s): using the Qwen2.5-1.5B shape", model, entry["path"])
        return ModelDims()
    return dims_from_config(cfg)


def dims_from_config(cfg: Any) -> ModelDims:
    """Dims from an HF config: an ``AutoConfig`` or its ``config.json`` as a dict."""
    get = cfg.get if isinstance(cfg, dict) else (lambda key, default=None: getattr(cfg, key, default))
    heads = int(get("num_attention_heads"))
    return ModelDims(
        n_layers=int(get("num_hidden_layers")), d=int(get("hidden_size")), d_mlp=int(get("intermediate_size")),
        n_heads=heads, n_kv_heads=int(get("num_key_value_heads") or heads), vocab=int(get("vocab_size")),
        tied=bool(get("tie_word_embeddings", False)),
    )


@functools.lru_cache(maxsize=None)
def read_model_config(path: str, revision: str | None = None):
    """``AutoConfig`` from a local dir or the local HF cache only (``local_files_only``); None if absent."""
    from transformers import AutoConfig

    try:
        if Path(path).is_dir():
            return AutoConfig.from_pretrained(path)
        return AutoConfig.from_pretrained(path, revision=revision, local_files_only=True)
    except Exception as e:  # not cached: the caller decides whether that is fatal
        log.debug("config of %s not local: %s", path, e)
        return None


@functools.lru_cache(maxsize=None)
def _warn_once(msg: str, *args) -> None:
    log.warning(msg, *args)


@dataclass(frozen=True)
class DictDims:
    """Transcoder width per layer: latents and active latents per token."""

    n_latents: int
    k: int


def dict_choices(config: dict, d: int, results: str | Path = "results") -> tuple[list[DictDims], bool]:
    """``(choices, selected)``: the selected sweep point (``results/sweep/selected.yaml``) when it
    exists and was selected on one of this config's models, else every point of the sweep grid
    (``selected`` False), largest last. A selection from another run (the toy default's, left in
    ``results/`` of a checkout that is then pointed at the real config) says nothing about this
    one's dictionaries: taken as is, it sized the real pair's graphs with the toy's k of 16."""
    import yaml

    from r1interp.core.settings import read_selection

    sel = Path(results) / "sweep" / "selected.yaml"
    if sel.is_file():
        try:
            s, made_on = read_selection(sel)
            models = list((config.get("run") or {}).get("models") or [])
            if made_on is None or made_on in models:
                return [DictDims(int(s["expansion_factor"]) * d, int(s["k"]))], True
            _warn_once("%s was selected on %s, not one of run.models (%s): using the sweep grid", str(sel), made_on, ", ".join(models))
        except (OSError, yaml.YAMLError, TypeError, ValueError) as e:
            log.warning("cannot read %s (%s): using the sweep grid", sel, e)
    grid = (config.get("sweep") or {}).get("grid") or {}
    efs = sorted(grid.get("expansion_factor") or [32])
    ks = sorted(grid.get("k") or [32])
    return [DictDims(ef * d, k) for ef in efs for k in ks], False


def dict_dims(config: dict, d: int, worst_case: bool = True, results: str | Path = "results") -> DictDims:
    """The selected sweep point (see :func:`dict_choices`), else the grid's largest expansion and k
    (``worst_case``) or its median point (a typical plan)."""
    choices, selected = dict_choices(config, d, results)
    if selected or worst_case:
        return choices[-1]
    efs = sorted({c.n_latents for c in choices})
    ks = sorted({c.k for c in choices})
    return DictDims(efs[len(efs) // 2], ks[len(ks) // 2])

"""How far a fine-tuned model's residual stream moved from its base, layer by layer.

Both models read the same *text* at the same positions: the reasoner its eval shard, the base the
same rows read through the pair's token map (``results/{base}/data/eval.parquet``: the base's own
special tokens where the reasoner has its own; see :mod:`r1interp.data.tokenmap`). Feeding the
reasoner's ids to the base would make the base read ``<|box_start|>`` where the reasoner reads
``<think>``. We compare the outputs of decoder block L: the per-token L2 norm of the difference, also relative
to the base's norm, and the cosine. A control pair (another fine-tune of the same base) tells how
much of that distance any fine-tuning would produce.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from r1interp.artifacts.segments import SEGMENT_NAMES
from r1interp.artifacts.shards import read_shard
from r1interp.models import residual_cache

log = logging.getLogger(__name__)

DIFF_COLUMNS = [
    "comparison",
    "model_a",
    "model_b",
    "layer",
    "segment",
    "n_tokens",
    "mean_l2",
    "mean_rel_l2",
    "mean_cos",
    "mean_norm_a",
    "mean_norm_b",
]
STATS = ("l2", "rel_l2", "cos", "norm_a", "norm_b")


@dataclass(frozen=True)
class Doc:
    doc_id: int
    ids: np.ndarray
    segment: np.ndarray


def load_docs(path: str | Path, max_docs: int = 0, max_len: int = 0) -> list[Doc]:
    """Documents of a token shard (``doc_id, input_ids, segment``), truncated to ``max_len``."""
    df = read_shard(path, ("doc_id", "input_ids", "segment")).to_pandas()
    if max_docs:
        df = df.head(max_docs)
    docs = []
    for row in df.itertuples(index=False):
        ids = np.asarray(row.input_ids, dtype=np.int64)
        seg = np.asarray(row.segment, dtype=np.int8)
        if max_len:
            ids, seg = ids[:max_len], seg[:max_len]
        if len(ids):
            docs.append(Doc(int(row.doc_id), ids, seg))
    if not docs:
        raise ValueError(f"{path} has no non-empty documents")
    return docs


def token_diff_stats(a: Tensor, b: Tensor, eps: float = 1e-8) -> dict[str, Tensor]:
    """Per-token stats of two residual stacks ``[L, T, d]`` → each ``[L, T]`` (float32)."""
    if a.shape != b.shape:
        raise ValueError(f"residual shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    a, b = a.float(), b.float()
    l2 = (a - b).norm(dim=-1)
    norm_a, norm_b = a.norm(dim=-1), b.norm(dim=-1)
    return {
        "l2": l2,
        "rel_l2": l2 / norm_b.clamp_min(eps),
        "cos": F.cosine_similarity(a, b, dim=-1, eps=eps),
        "norm_a": norm_a,
        "norm_b": norm_b,
    }


class DiffAccumulator:
    """Running sums of the per-token stats per (layer, segment), plus segment "all"."""

    def __init__(self, n_layers: int):
        self.n_layers = n_layers
        self.sums: dict[str, dict[str, np.ndarray]] = {}
        self.counts: dict[str, int] = {}

    def add(self, stats: dict[str, Tensor], segment: np.ndarray, mask: np.ndarray | None = None) -> None:
        keep = np.ones(len(segment), bool) if mask is None else mask
        groups = {"all": keep} | {SEGMENT_NAMES.get(int(c), str(int(c))): keep & (segment == c) for c in np.unique(segment)}
        arrays = {k: v.double().cpu().numpy() for k, v in stats.items()}
        for name, sel in groups.items():
            n = int(sel.sum())
            if n == 0:
                continue
            acc = self.sums.setdefault(name, {k: np.zeros(self.n_layers) for k in STATS})
            for k in STATS:
                acc[k] += arrays[k][:, sel].sum(1)
            self.counts[name] = self.counts.get(name, 0) + n

    def table(self, comparison: str, model_a: str, model_b: str, layers: list[int]) -> pd.DataFrame:
        rows = []
        for name in sorted(self.sums, key=lambda s: (s != "all", s)):
            n = self.counts[name]
            for i, layer in enumerate(layers):
                rows.append(
                    {
                        "comparison": comparison,
                        "model_a": model_a,
                        "model_b": model_b,
                        "layer": layer,
                        "segment": name,
                        "n_tokens": n,
                        **{f"mean_{k}": self.sums[name][k][i] / n for k in STATS},
                    }
                )
        return pd.DataFrame(rows, columns=DIFF_COLUMNS)


def aligned(docs_a: list[Doc], docs_b: list[Doc]) -> list[tuple[Doc, Doc]]:
    """Pairs of the same documents as two models read them; refuses shards that are not one stream."""
    by_id = {d.doc_id: d for d in docs_b}
    pairs = []
    for a in docs_a:
        b = by_id.get(a.doc_id)
        if b is None:
            raise ValueError(f"document {a.doc_id} is missing from the second model's shard: the shards are not one token stream")
        if len(a.ids) != len(b.ids) or not np.array_equal(a.segment, b.segment):
            raise ValueError(f"document {a.doc_id} differs in length or segments between the two shards: positions are not aligned")
        pairs.append((a, b))
    return pairs


def residual_diff(
    model_a: nn.Module,
    model_b: nn.Module,
    docs: Iterable[Doc],
    skip_first_token: bool = True,
    desc: str = "residual diff",
    docs_b: list[Doc] | None = None,
) -> DiffAccumulator:
    """Accumulate per-layer stats of ``residual(model_a) − residual(model_b)`` over ``docs``.

    ``docs_b``: the same documents as ``model_b`` reads them (its own special-token ids, same
    positions); without it both read ``docs`` (models that share every token id).
    The first token is excluded by default: its residual is an attention sink with a norm far
    larger than the rest, which would dominate a mean over a short document.
    """
    n_layers = model_a.config.num_hidden_layers
    if model_b.config.num_hidden_layers != n_layers or model_b.config.hidden_size != model_a.config.hidden_size:
        raise ValueError("models differ in depth or width; a per-layer residual diff needs the same architecture")
    acc = DiffAccumulator(n_layers)
    docs = list(docs)
    pairs = aligned(docs, docs_b) if docs_b is not None else [(d, d) for d in docs]
    for doc, doc_b in tqdm(pairs, desc=desc, unit="doc"):
        with torch.inference_mode():
            ra = residual_cache(model_a, doc.ids)
            rb = residual_cache(model_b, doc_b.ids).to(ra.device)
        mask = np.ones(len(doc.ids), bool)
        if skip_first_token:
            mask[0] = False
        acc.add(token_diff_stats(ra, rb), doc.segment, mask)
    return acc


def check_token_ids(docs: list[Doc], vocab_sizes: dict[str, int]) -> None:
    """Every id must index every model's embedding table (same-tokenizer requirement)."""
    top = max(int(d.ids.max()) for d in docs)
    small = {name: v for name, v in vocab_sizes.items() if top >= v}
    if small:
        raise ValueError(f"token id {top} is out of range for models {small} (vocab sizes); the models must share a tokenizer")


def tokenizer_mismatch(tokenizers: dict, docs: list[Doc]) -> int:
    """How many distinct ids in ``docs`` the tokenizers spell differently (logged, not fatal:
    fine-tunes often rename special tokens at the same ids)."""
    ids = sorted({int(i) for d in docs for i in np.unique(d.ids)})
    names = list(tokenizers)
    ref = tokenizers[names[0]].convert_ids_to_tokens(ids)
    bad = set()
    for name in names[1:]:
        other = tokenizers[name].convert_ids_to_tokens(ids)
        bad |= {i for i, x, y in zip(ids, ref, other) if x != y}
    if bad:
        sample = sorted(bad)[:10]
        log.warning("%d of %d token ids are spelt differently by %s (e.g. ids %s)", len(bad), len(ids), names, sample)
    return len(bad)

"""Faithfulness metrics of transcoders spliced into the model, accumulated over eval batches.

Definitions (documented in the model cards and the summary table):
- ``ce_increase``: mean next-token cross-entropy (nats) of the model with the MLP(s) replaced minus
  that of the original model, over the same predicted tokens.
- ``kl``: mean KL(original ‖ replaced) of the next-token distributions (nats).
- ``top1_agreement``: fraction of positions where both models' argmax next token agree.
- ``fvu``: Σ‖y − ŷ‖² / Σ‖y − ȳ‖² over eval tokens, y the MLP output, ŷ the transcoder output.
- ``l0``: mean number of non-zero latents per token (≤ k by construction).
- ``ce_increase_zero``: the CE increase when the MLP output is zeroed instead (a reference scale),
  and ``ce_recovered`` = 1 − ce_increase / ce_increase_zero (1 = perfect, 0 = no better than
  deleting the MLP). A small ``ce_increase`` is only impressive when ``ce_increase_zero`` is large.
- ``dead_pct``: % of latents that never fire on any eval token (an estimate that depends on the
  number of eval tokens; reported with it).
Per-segment numbers attribute the prediction at position t to the segment of token t+1 (the token
being predicted), so "think" means loss on tokens inside ``<think>…</think>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from r1interp.artifacts.segments import SEGMENT_NAMES
from r1interp.artifacts.transcoder import SkipTranscoder
from r1interp.core.batches import EvalBatch
from r1interp.core.hooks import replace_mlp, replace_mlps, zero_mlp


@dataclass
class NextTokenStats:
    """Sums of per-token next-token metrics, overall and per segment."""

    sums: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))

    def add(self, logits_orig: Tensor, logits_rep: Tensor, batch: EvalBatch) -> None:
        # one row at a time: fp32 log-probs of a [T, 151936] row are ~0.6 GB per 1k tokens
        for row in range(logits_orig.shape[0]):
            self._add_row(logits_orig[row], logits_rep[row], batch.input_ids[row], batch.attention_mask[row], batch.segment[row])

    def _add_row(self, lo: Tensor, lr: Tensor, ids: Tensor, mask: Tensor, seg: Tensor) -> None:
        n = int(mask.sum())
        if n < 2:
            return
        dev = lo.device
        targets = ids[1:n].to(dev)
        seg = seg[1:n].to(dev)
        lp_o = torch.log_softmax(lo[: n - 1].float(), dim=-1)
        lp_r = torch.log_softmax(lr[: n - 1].float(), dim=-1)
        ce_o = -lp_o.gather(-1, targets[:, None])[:, 0]
        ce_r = -lp_r.gather(-1, targets[:, None])[:, 0]
        kl = (lp_o.exp() * (lp_o - lp_r)).sum(-1)
        agree = (lp_o.argmax(-1) == lp_r.argmax(-1)).double()
        groups = {"all": torch.ones_like(seg, dtype=torch.bool)}
        for code, name in SEGMENT_NAMES.items():
            groups[name] = seg == code
        for name, m in groups.items():
            k = int(m.sum())
            if k == 0:
                continue
            s = self.sums[name]
            s["n_tokens"] += k
            s["ce_orig"] += float(ce_o[m].double().sum())
            s["ce_replaced"] += float(ce_r[m].double().sum())
            s["kl"] += float(kl[m].double().sum())
            s["top1_agreement"] += float(agree[m].sum())

    def result(self) -> dict:
        def finish(s: dict[str, float]) -> dict:
            n = s["n_tokens"]
            out = {key: s[key] / n for key in ("ce_orig", "ce_replaced", "kl", "top1_agreement")}
            out["ce_increase"] = out["ce_replaced"] - out["ce_orig"]
            out["n_tokens"] = int(n)
            return out

        if "all" not in self.sums:
            raise ValueError("no evaluated tokens")
        out = finish(self.sums["all"])
        out["segments"] = {name: finish(s) for name, s in self.sums.items() if name != "all"}
        return out


@dataclass
class ReconstructionStats:
    """FVU, L0 and firing counts of one transcoder on the MLP input/output it replaces."""

    num_latents: int
    sq_err: float = 0.0
    sum_y: Tensor | None = None
    sum_y2: float = 0.0
    n: int = 0
    l0_sum: float = 0.0
    l0_max: int = 0
    fired: Tensor | None = None

    def add(self, tc: SkipTranscoder, x: Tensor, y: Tensor, y_hat: Tensor, mask: Tensor) -> None:
        m = mask.bool().to(x.device)
        x, y, y_hat = x[m].double(), y[m].double(), y_hat[m].double()
        acts = tc.encode(x.to(tc.W_enc.dtype))
        nz = acts > 0
        self.sq_err += float((y - y_hat).pow(2).sum())
        self.sum_y = y.sum(0) if self.sum_y is None else self.sum_y + y.sum(0)
        self.sum_y2 += float(y.pow(2).sum())
        self.n += y.shape[0]
        per_token = nz.sum(-1)
        self.l0_sum += float(per_token.sum())
        self.l0_max = max(self.l0_max, int(per_token.max()) if per_token.numel() else 0)
        fired = nz.any(0)
        self.fired = fired if self.fired is None else self.fired | fired

    def result(self) -> dict:
        if self.n == 0 or self.sum_y is None or self.fired is None:
            raise ValueError("no evaluated tokens")
        total_var = self.sum_y2 - float(self.sum_y.pow(2).sum()) / self.n
        return {
            "fvu": self.sq_err / total_var if total_var > 0 else float("nan"),
            "l0": self.l0_sum / self.n,
            "l0_max": self.l0_max,
            "dead_pct": 100.0 * (1.0 - float(self.fired.float().mean())),
            "num_latents": self.num_latents,
            "n_mlp_tokens": self.n,
        }


def _logits(model: nn.Module, batch: EvalBatch) -> Tensor:
    dev = next(model.parameters()).device
    return model(input_ids=batch.input_ids.to(dev), attention_mask=batch.attention_mask.to(dev)).logits


@torch.no_grad()
def evaluate_layer(model: nn.Module, layer: int, tc: SkipTranscoder, batches: Iterable[EvalBatch]) -> dict:
    """Metrics with only layer ``layer``'s MLP replaced by ``tc``."""
    tokens = NextTokenStats()
    recon = ReconstructionStats(tc.num_latents)
    current: dict[str, Tensor] = {}

    def observe(_layer: int, x: Tensor, y: Tensor, y_hat: Tensor) -> None:
        recon.add(tc, x, y, y_hat, current["mask"])

    ablated = NextTokenStats()
    for batch in batches:
        clean = _logits(model, batch)
        current["mask"] = batch.attention_mask
        with replace_mlp(model, layer, tc, observe):
            replaced = _logits(model, batch)
        tokens.add(clean, replaced, batch)
        with zero_mlp(model, layer):
            ablated.add(clean, _logits(model, batch), batch)
    out = {"layer": layer, "k": tc.k, **tokens.result(), **recon.result()}
    out["ce_increase_zero"] = ablated.result()["ce_increase"]
    out["ce_recovered"] = 1.0 - out["ce_increase"] / out["ce_increase_zero"] if out["ce_increase_zero"] > 0 else float("nan")
    return out


@torch.no_grad()
def evaluate_full(model: nn.Module, transcoders: dict[int, SkipTranscoder], batches: Iterable[EvalBatch]) -> dict:
    """Metrics with every given layer's MLP replaced at once (the replacement model)."""
    tokens = NextTokenStats()
    for batch in batches:
        clean = _logits(model, batch)
        with replace_mlps(model, transcoders):
            replaced = _logits(model, batch)
        tokens.add(clean, replaced, batch)
    return {"layers": sorted(transcoders), **tokens.result()}

"""Build and train the tiny Qwen2 models of the toy pair on CPU.

Why Qwen2: the real pair (R1-Distill-Qwen-1.5B, Qwen2.5-Math-1.5B) is Qwen2 architecture, so the
toy exercises exactly the same module tree, hookpoints (``layers.L.mlp``) and loaders.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToyModelConfig:
    hidden_size: int = 64
    intermediate_size: int = 256
    num_hidden_layers: int = 6
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 256


@dataclass(frozen=True)
class ToyTrainConfig:
    steps: int = 500
    batch_size: int = 32
    seq_len: int = 160
    lr: float = 3e-3
    seed: int = 0


def init_model(tokenizer, cfg: ToyModelConfig, seed: int = 0):
    """A randomly initialised ``Qwen2ForCausalLM`` sized for ``tokenizer``."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        num_key_value_heads=cfg.num_key_value_heads,
        max_position_embeddings=cfg.max_position_embeddings,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        use_sliding_window=False,
    )
    return Qwen2ForCausalLM(config)


def pad_batch(docs: list[np.ndarray], seq_len: int, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad documents to one length; labels are -100 on padding so loss ignores it."""
    length = min(seq_len, max(len(d) for d in docs))
    ids = torch.full((len(docs), length), pad_id, dtype=torch.long)
    labels = torch.full((len(docs), length), -100, dtype=torch.long)
    for i, doc in enumerate(docs):
        d = torch.as_tensor(doc[:length], dtype=torch.long)
        ids[i, : len(d)] = d
        labels[i, : len(d)] = d
    return ids, labels


def train_model(model, docs: list[np.ndarray], cfg: ToyTrainConfig, pad_id: int, progress: bool = True) -> list[float]:
    """AdamW with warm-up + cosine decay over padded single-document batches; returns losses."""
    from tqdm import tqdm

    gen = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01, betas=(0.9, 0.98))
    warmup = max(1, cfg.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / cfg.steps)))
    )
    model.train()
    losses = []
    bar = tqdm(range(cfg.steps), desc="toy model", disable=not progress, mininterval=2.0)
    for step in bar:
        batch = [docs[i] for i in gen.integers(0, len(docs), cfg.batch_size)]
        ids, labels = pad_batch(batch, cfg.seq_len, pad_id)
        loss = model(input_ids=ids, attention_mask=(labels != -100).long(), labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
            log.info("step %d loss %.4f", step, loss.item())
    model.eval()
    return losses


@torch.no_grad()
def mean_loss(model, docs: list[np.ndarray], seq_len: int, pad_id: int, batch_size: int = 64) -> float:
    """Token-weighted mean next-token loss on ``docs`` (used to check the toy learned something)."""
    total, count = 0.0, 0
    for i in range(0, len(docs), batch_size):
        ids, labels = pad_batch(docs[i : i + batch_size], seq_len, pad_id)
        logits = model(input_ids=ids, attention_mask=(labels != -100).long()).logits[:, :-1]
        tgt = labels[:, 1:]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100, reduction="sum")
        total += loss.item()
        count += int((tgt != -100).sum())
    return total / max(count, 1)


def save_model(model, tokenizer, path: str | Path) -> None:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path), safe_serialization=True)
    tokenizer.save_pretrained(str(path))

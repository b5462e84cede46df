"""Tiny real artefacts for the graphs tests: a Qwen2 model dir, fitted skip transcoders, generations.

Why fitted (not random) transcoders: least squares on real MLP inputs/outputs takes milliseconds at
hidden 32 and gives reconstructions good enough that pruned graphs keep feature nodes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from r1interp.artifacts.segments import ANSWER, OTHER, PROMPT, THINK

HIDDEN, LAYERS, LATENTS, K = 32, 3, 64, 8


def make_tokenizer(flavour: str = "r1"):
    """The toy tokenizer of ``flavour`` (r1: the reasoner's special tokens; plain: the base's, same ids)."""
    from r1interp.core.toy_corpus import generate_corpus
    from r1interp.toy.tokenizer import train_tokenizer

    problems = generate_corpus(150, seed=0)
    return train_tokenizer([p.question + p.think + p.answer_text for p in problems], 300, flavour), problems


def make_model_dir(path: Path, seed: int = 0):
    """A random-init ``Qwen2ForCausalLM`` (hidden 32, 3 layers) with the toy tokenizer, saved to ``path``.

    ``initializer_range=0.2`` (not 0.02) makes the MLPs matter next to the embeddings, as in a
    trained model; at the default scale every graph is token→logit only.
    """
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tok, problems = make_tokenizer()
    torch.manual_seed(seed)
    cfg = Qwen2Config(
        vocab_size=len(tok), hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=LAYERS,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rope_theta=10000.0,
        tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id, use_sliding_window=False, initializer_range=0.2,
    )
    model = Qwen2ForCausalLM(cfg).eval()
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return model, AutoTokenizer.from_pretrained(path), problems


def mlp_io(model, ids: torch.Tensor) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """Post-norm MLP input and MLP output of every layer (HF hooks), flattened to [tokens, d]."""
    io: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = [
        layer.mlp.register_forward_hook(lambda m, a, out, i=i: io.__setitem__(i, (a[0].reshape(-1, HIDDEN), out.reshape(-1, HIDDEN))))
        for i, layer in enumerate(model.model.layers)
    ]
    with torch.no_grad():
        model(ids)
    for h in hooks:
        h.remove()
    return io


def fit_transcoders(model, tok, problems, out_dir: Path, seed: int = 0) -> None:
    """Per layer: random unit encoder, then least squares for W_dec, W_skip, b_dec; saved by sparsify."""
    from sparsify import SparseCoder, SparseCoderConfig

    stream = []
    for p in problems:
        stream += chat_prompt_ids(tok, p.question) + tok(p.think + "\n</think>\n\n" + p.answer_text, add_special_tokens=False).input_ids
    n_seq = len(stream) // 64
    batch = torch.tensor(stream[: n_seq * 64]).view(n_seq, 64)
    io = mlp_io(model, batch)
    gen = torch.Generator().manual_seed(seed)
    for layer, (x, y) in io.items():
        sc = SparseCoder(HIDDEN, SparseCoderConfig(num_latents=LATENTS, k=K, transcode=True, skip_connection=True))
        w_enc = torch.randn(LATENTS, HIDDEN, generator=gen)
        w_enc /= w_enc.norm(dim=1, keepdim=True)
        scale = (x @ w_enc.T).std()
        w_enc /= scale
        pre = torch.relu(x @ w_enc.T)
        vals, idx = pre.topk(K, dim=-1)
        codes = torch.zeros_like(pre).scatter(-1, idx, vals)
        design = torch.cat([codes, x, torch.ones(len(x), 1)], dim=1).double()
        sol = torch.linalg.lstsq(design, y.double(), rcond=None).solution.float()
        with torch.no_grad():
            sc.encoder.weight.copy_(w_enc)
            sc.encoder.bias.zero_()
            sc.W_dec.copy_(sol[:LATENTS])
            sc.W_skip.copy_(sol[LATENTS : LATENTS + HIDDEN].T)
            sc.b_dec.copy_(sol[-1])
        sc.save_to_disk(out_dir / f"L{layer}")


def chat_prompt_ids(tok, question: str) -> list[int]:
    return tok.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True)


def generation_row(tok, prompt_id: str, question: str, think: str | None, answer: str, *, category: str = "arithmetic",
                   needs_reasoning: bool = True, correct: bool = True) -> dict:
    """A generations.parquet row whose output is given text (a trace + answer, or an answer only)."""
    prompt_ids = chat_prompt_ids(tok, question)
    think_open, think_close = tok.convert_tokens_to_ids("<think>"), tok.convert_tokens_to_ids("</think>")
    if think is not None:
        trace = tok(think + "\n", add_special_tokens=False).input_ids
        ans = tok("\n\n" + answer, add_special_tokens=False).input_ids
        output = trace + [think_close] + ans + [tok.eos_token_id]
        seg_out = [THINK] * (len(trace) + 1) + [ANSWER] * len(ans) + [OTHER]
    else:
        output = tok(answer, add_special_tokens=False).input_ids + [tok.eos_token_id]
        seg_out = [ANSWER] * (len(output) - 1) + [OTHER]
    full = prompt_ids + output
    seg_prompt = [PROMPT] * len(prompt_ids)
    if think_open in prompt_ids:
        start = prompt_ids.index(think_open)
        seg_prompt[start:] = [THINK] * (len(prompt_ids) - start)
    return {
        "prompt_id": prompt_id, "category": category, "needs_reasoning": needs_reasoning, "expected": answer,
        "prompt_ids": prompt_ids, "output_ids": output, "segment": seg_prompt + seg_out,
        "think_start": full.index(think_open) if think_open in full else -1,
        "think_end": full.index(think_close) if think_close in output else -1,
        "answer_text": answer, "correct": correct,
    }


def write_generations(rows: list[dict], path: Path) -> Path:
    df = pd.DataFrame(rows)
    df["segment"] = df["segment"].map(lambda s: np.asarray(s, dtype=np.int8))
    df.to_parquet(path)
    return path


def write_feature_tables(model, tok, tc_dir: Path, problems, out_dir: Path, n_logits: int = 5) -> None:
    """``L{layer}.stats.parquet`` / ``.examples.parquet`` in the features stage's columns, computed for real
    from the tiny model's activations (log-grid histogram edges like ``r1interp.features.hist``)."""
    from r1interp.artifacts.transcoder import load_transcoder

    out_dir.mkdir(parents=True, exist_ok=True)
    docs = [chat_prompt_ids(tok, p.question) + tok(p.think, add_special_tokens=False).input_ids for p in problems[:24]]
    n = min(len(d) for d in docs)
    batch = torch.tensor([d[:n] for d in docs])
    io = mlp_io(model, batch)
    w_u = model.lm_head.weight.detach()  # [vocab, d]
    strings = [[tok.decode([t]) for t in doc] for doc in batch.tolist()]
    for layer, (x, _) in io.items():
        tc = load_transcoder(tc_dir / f"L{layer}")
        acts = tc.encode(x).view(len(docs), n, -1)
        acts[:, 0] = 0  # BOS counts nowhere, as in the features stage
        flat = acts.reshape(-1, acts.shape[-1])
        logit_fx = (tc.W_dec @ w_u.T).detach()  # [latents, vocab]
        stats, examples = [], []
        for f in range(flat.shape[1]):
            a = flat[:, f]
            active = a[a > 0].numpy().astype(np.float64)
            top = a.max().item()
            edges = np.concatenate([[0.0], top * np.exp2(np.arange(-9, 1) / 2.0)]) if top > 0 else np.array([0.0, 1.0])
            edges[-1] = np.nextafter(edges[-1], np.inf)
            counts = np.histogram(active, edges)[0] if len(active) else np.zeros(len(edges) - 1, dtype=np.int64)
            hi, lo = logit_fx[f].topk(n_logits), (-logit_fx[f]).topk(n_logits)
            stats.append({
                "feature_id": f, "frac_active": float(len(active) / len(a)), "max_act": top,
                "mean_act": float(active.mean()) if len(active) else 0.0,
                "quantiles": np.quantile(active, [0.5, 0.9, 0.99]).tolist() if len(active) else [0.0] * 3,
                "hist_counts": counts.astype(np.int64).tolist(), "hist_edges": edges.tolist(),
                "top_logits": [tok.decode([i]) for i in hi.indices.tolist()], "top_logit_values": hi.values.tolist(),
                "bottom_logits": [tok.decode([i]) for i in lo.indices.tolist()], "bottom_logit_values": (-lo.values).tolist(),
            })
            per_doc = acts[:, :, f].max(dim=1)
            order = per_doc.values.argsort(descending=True).tolist()
            picks = [("top", -1, order[:3]), ("quantile", 0, order[6:8]), ("quantile", 1, order[3:5]), ("negative", -1, order[-1:])]
            for kind, qbin, docs_idx in picks:
                for rank, d in enumerate(docs_idx):
                    window = acts[d, :, f]
                    examples.append({
                        "feature_id": f, "kind": kind, "quantile_bin": qbin, "rank": rank, "doc_id": d, "start": 0,
                        "token_ids": batch[d].tolist(), "tokens": strings[d],
                        "acts": window.tolist(), "max_idx": int(window.argmax()), "act_max": float(window.max()),
                    })
        pd.DataFrame(stats).to_parquet(out_dir / f"L{layer}.stats.parquet")
        pd.DataFrame(examples).to_parquet(out_dir / f"L{layer}.examples.parquet")

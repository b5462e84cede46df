"""Reasoning-focus heads: the score on a hand-built pattern, the hook path against HF's own
attentions, skip rules, and the CLI's outputs on a tiny random Qwen2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from r1interp.artifacts.generations import load_traces
from r1interp.heads.attention import trace_head_scores
from r1interp.heads.run import HeadsConfig, compute_heads
from r1interp.heads.scores import answer_to_reasoning_attention, rank_heads, uniform_baseline
from r1interp.models import load_model
from test_heads_support import build_model, build_tokenizer, toy_problems, write_generations

SEG = np.array([1, 1, 2, 2, 3, 3], dtype=np.int8)  # prompt prompt think think answer answer


def hand_pattern() -> torch.Tensor:
    """[heads=2, T=6, T=6] causal rows summing to 1; only rows 4 and 5 are answer queries."""
    attn = torch.zeros(2, 6, 6)
    for h in range(2):
        for q in range(4):  # non-answer rows: uniform over the causal context
            attn[h, q, : q + 1] = 1.0 / (q + 1)
    attn[0, 4] = torch.tensor([0.1, 0.1, 0.3, 0.3, 0.2, 0.0])  # 0.6 on think
    attn[0, 5] = torch.tensor([0.0, 0.0, 0.5, 0.4, 0.0, 0.1])  # 0.9 on think
    attn[1, 4] = torch.tensor([0.5, 0.5, 0.0, 0.0, 0.0, 0.0])  # 0.0
    attn[1, 5] = torch.tensor([0.0, 0.0, 0.0, 0.2, 0.4, 0.4])  # 0.2
    return attn


def test_score_on_hand_built_pattern():
    attn = hand_pattern()
    assert torch.allclose(attn.sum(-1), torch.ones(2, 6))
    score = answer_to_reasoning_attention(attn, SEG)
    assert score.tolist() == pytest.approx([0.75, 0.1])
    # non-answer query rows do not matter
    other = attn.clone()
    other[:, :4] = torch.eye(6)[:4]
    assert torch.allclose(answer_to_reasoning_attention(other, SEG), score)
    # a leading [layers] axis is carried through
    stacked = answer_to_reasoning_attention(torch.stack([attn, attn.flip(0)]), SEG)
    assert stacked.shape == (2, 2) and stacked[1].tolist() == pytest.approx([0.1, 0.75])


def test_uniform_baseline_and_errors():
    # answer query 4 sees 2 think keys among 5, query 5 sees 2 among 6
    assert uniform_baseline(SEG) == pytest.approx((2 / 5 + 2 / 6) / 2)
    uniform = torch.tril(torch.ones(6, 6)) / torch.arange(1, 7)[:, None]
    assert answer_to_reasoning_attention(uniform[None], SEG).item() == pytest.approx(uniform_baseline(SEG))
    with pytest.raises(ValueError, match="answer"):
        answer_to_reasoning_attention(hand_pattern(), np.array([1, 1, 2, 2, 2, 2]))
    with pytest.raises(ValueError, match="segment has"):
        answer_to_reasoning_attention(hand_pattern(), SEG[:5])


def test_rank_heads_averages_over_traces():
    s1 = torch.tensor([[0.2, 0.8], [0.5, 0.1]])
    s2 = torch.tensor([[0.4, 0.6], [1.0, 0.1]])
    df = rank_heads([s1, s2], [0.5, 0.3])
    top = df.iloc[0]
    assert (top["layer"], top["head"], top["rank"]) == (1, 0, 1)
    assert top["score"] == pytest.approx(0.75)
    assert df["rank"].tolist() == [1, 2, 3, 4]
    assert (df["n_traces"] == 2).all()
    assert df["baseline"].iloc[0] == pytest.approx(0.4)
    assert df.set_index(["layer", "head"]).loc[(0, 1), "lift"] == pytest.approx(0.7 / 0.4)
    assert rank_heads([], []).empty


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("heads")
    tok = build_tokenizer(root / "tok")
    model_dir = build_model(root / "model", tok, n_layers=3)
    gens = write_generations(root / "generations.parquet", tok, toy_problems(6, seed=3))
    return model_dir, gens


def test_hook_scores_match_output_attentions(tiny):
    """The memory-bounded hook path gives exactly what HF's output_attentions gives."""
    model_dir, gens = tiny
    model, _ = load_model(model_dir, device="cpu", dtype="float32")
    trace = load_traces(gens)[0]
    ours = trace_head_scores(model, trace.ids, trace.segment)
    with torch.no_grad():
        out = model(torch.as_tensor(trace.ids)[None], output_attentions=True)
    ref = torch.stack([answer_to_reasoning_attention(a[0], trace.segment) for a in out.attentions])
    assert ours.shape == (3, 4)
    assert torch.allclose(ours, ref, atol=1e-6)
    assert ((ours > 0) & (ours < 1)).all()


def test_compute_heads_skips_long_traces(tiny):
    model_dir, gens = tiny
    model, _ = load_model(model_dir, device="cpu", dtype="float32")
    traces = load_traces(gens)
    lengths = sorted(len(t.ids) for t in traces)
    cfg = HeadsConfig(max_len=lengths[2])  # the longer traces are skipped
    res = compute_heads(model, traces, cfg)
    n_ok = sum(n <= lengths[2] for n in lengths)
    assert len(res.skipped) == len(traces) - n_ok and all(s["reason"] == "too_long" for s in res.skipped)
    assert (res.table["n_traces"] == n_ok).all()
    assert len(res.table) == 3 * 4
    # the mean over traces is the mean of the per-trace scores
    kept = [t for t in traces if len(t.ids) <= lengths[2]]
    mean = torch.stack([trace_head_scores(model, t.ids, t.segment) for t in kept]).mean(0)
    got = res.table.set_index(["layer", "head"])["score"]
    assert got[(2, 1)] == pytest.approx(mean[2, 1].item(), abs=1e-6)


def test_cli_writes_outputs(tiny, tmp_path):
    from r1interp.heads.__main__ import main

    model_dir, gens = tiny
    out = tmp_path / "heads"
    rc = main(["heads", "--model-path", str(model_dir), "--model-name", "tiny", "--generations", str(gens),
               "--out-dir", str(out), "--device", "cpu", "--dtype", "float32", "--top-k", "5"])
    assert rc == 0
    df = pd.read_parquet(out / "heads.parquet")
    assert list(df.columns[:5]) == ["layer", "head", "score", "score_std", "baseline"]
    assert {"rank", "n_traces"} <= set(df.columns) and len(df) == 12
    assert df["score"].is_monotonic_decreasing and (df["n_traces"] == 6).all()
    top = json.loads((out / "top_heads.json").read_text())
    assert top["n_traces"] == 6 and len(top["heads"]) == 5
    assert [h["rank"] for h in top["heads"]] == [1, 2, 3, 4, 5]
    assert (top["heads"][0]["layer"], top["heads"][0]["head"]) == (int(df["layer"][0]), int(df["head"][0]))
    assert (out / "profile.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_rejects_bad_generations(tmp_path):
    from r1interp.heads.__main__ import main

    bad = tmp_path / "g.parquet"
    pd.DataFrame({"prompt_id": ["a"]}).to_parquet(bad)
    assert main(["heads", "--model-path", str(tmp_path), "--generations", str(bad), "--out-dir", str(tmp_path / "o")]) == 2
    assert main(["heads", "--model-path", str(tmp_path), "--generations", str(tmp_path / "nope.parquet"), "--out-dir", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_out_of_memory_is_skipped_and_logged(tiny):
    """An OOM inside the forward (injected by a hook, as CUDA would raise it) skips that trace only."""
    model_dir, gens = tiny
    model, _ = load_model(model_dir, device="cpu", dtype="float32")
    traces = load_traces(gens)
    victim = len(traces[2].ids)

    def raise_oom(module, args):
        if args[0].shape[1] == victim:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    handle = model.model.layers[1].register_forward_pre_hook(raise_oom)
    try:
        res = compute_heads(model, traces, HeadsConfig())
    finally:
        handle.remove()
    n_victims = sum(len(t.ids) == victim for t in traces)
    assert [s["reason"] for s in res.skipped] == ["oom"] * n_victims
    assert (res.table["n_traces"] == len(traces) - n_victims).all()

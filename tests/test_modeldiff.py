"""Model diff: residual distance (zero for a model against itself, matching HF's own hidden
states otherwise) and transcoder dictionary matching (a dictionary against itself is all shared
at cosine 1; chunked matching equals brute force), through the CLI on real files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

from r1interp.modeldiff.dictionary import best_matches, match_table, summarise_matches
from r1interp.modeldiff.residual import token_diff_stats
from r1interp.models import load_model
from test_heads_support import build_model, build_tokenizer, toy_problems, write_shard


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("modeldiff")
    tok = build_tokenizer(root / "tok")
    a = build_model(root / "a", tok, n_layers=2, seed=0)
    b = build_model(root / "b", tok, n_layers=2, seed=1)
    shard = write_shard(root / "eval.parquet", tok, toy_problems(5, seed=11))
    return root, a, b, shard


def test_token_diff_stats_identities():
    torch.manual_seed(0)
    a = torch.randn(3, 5, 8)
    s = token_diff_stats(a, a.clone())
    assert torch.all(s["l2"] == 0) and torch.all(s["rel_l2"] == 0)
    assert torch.allclose(s["cos"], torch.ones(3, 5))
    b = a + 1.0
    s = token_diff_stats(a, b)
    assert torch.allclose(s["l2"], torch.full((3, 5), 8 ** 0.5))
    assert torch.allclose(s["norm_b"], b.norm(dim=-1))


def _residual(args):
    from r1interp.modeldiff.__main__ import main

    return main(["residual", *args, "--device", "cpu", "--dtype", "float32"])


def test_residual_diff_zero_against_itself(setup, tmp_path):
    root, a, b, shard = setup
    rc = _residual(["--reasoner-path", str(a), "--reasoner-name", "m", "--base-path", str(a), "--base-name", "m",
                    "--shard", str(shard), "--out-dir", str(tmp_path)])
    assert rc == 0
    df = pd.read_parquet(tmp_path / "residual_diff.parquet")
    assert set(df["layer"]) == {0, 1} and {"all", "prompt", "think", "answer", "other"} <= set(df["segment"])
    assert (df["mean_l2"] == 0).all() and (df["mean_rel_l2"] == 0).all()
    assert np.allclose(df["mean_cos"], 1.0, atol=1e-6)
    assert (df["mean_norm_a"] > 0).all()
    assert (tmp_path / "residual_diff.png").read_bytes()[:4] == b"\x89PNG"


def test_residual_diff_two_models_with_control(setup, tmp_path):
    root, a, b, shard = setup
    rc = _residual(["--reasoner-path", str(a), "--reasoner-name", "r", "--base-path", str(b), "--base-name", "base",
                    "--control-path", str(b), "--control-name", "ctl", "--shard", str(shard), "--out-dir", str(tmp_path)])
    assert rc == 0
    df = pd.read_parquet(tmp_path / "residual_diff.parquet")
    main = df[df["comparison"] == "reasoner"].set_index(["layer", "segment"])
    ctl = df[df["comparison"] == "control"]
    assert (main["mean_l2"] > 0).all() and (ctl["mean_l2"] == 0).all()
    # independent check against HF's hidden states (index L+1 is block L's output, for L < n−1)
    docs = pd.read_parquet(shard)
    ma, _ = load_model(a, device="cpu", dtype="float32")
    mb, _ = load_model(b, device="cpu", dtype="float32")
    norms = []
    with torch.no_grad():
        for ids in docs["input_ids"]:
            x = torch.tensor(np.array(ids, dtype=np.int64))[None]
            ha = ma(x, output_hidden_states=True).hidden_states[1][0]
            hb = mb(x, output_hidden_states=True).hidden_states[1][0]
            norms.append((ha - hb).norm(dim=-1)[1:])  # the first token is skipped by default
    expected = torch.cat(norms)
    assert main.loc[(0, "all"), "n_tokens"] == len(expected)
    assert main.loc[(0, "all"), "mean_l2"] == pytest.approx(expected.mean().item(), rel=1e-5)


def test_residual_cli_rejects_bad_shard(setup, tmp_path):
    root, a, b, shard = setup
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"doc_id": [0], "input_ids": [[1, 2]]}).to_parquet(bad)
    assert _residual(["--reasoner-path", str(a), "--reasoner-name", "r", "--base-path", str(b), "--base-name", "b",
                      "--shard", str(bad), "--out-dir", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- dictionaries
def test_best_matches_chunked_equals_brute_force():
    g = torch.Generator().manual_seed(0)
    A, B = torch.randn(23, 16, generator=g), torch.randn(17, 16, generator=g)
    m = best_matches(A, B, chunk=5)
    cos = torch.nn.functional.normalize(A, dim=1) @ torch.nn.functional.normalize(B, dim=1).T
    assert torch.equal(m.a_to_b, cos.argmax(1)) and torch.allclose(m.cos_a, cos.max(1).values)
    assert torch.equal(m.b_to_a, cos.argmax(0)) and torch.allclose(m.cos_b, cos.max(0).values)


def test_match_table_self_and_permuted():
    g = torch.Generator().manual_seed(1)
    W = torch.randn(40, 32, generator=g)
    df = match_table(3, "x", "y", W, W * 2.5, threshold=0.7)  # scale does not matter
    assert len(df) == 80 and df["shared"].all()
    assert np.allclose(df["cosine"], 1.0, atol=1e-6)
    assert (df["best_match_feature"] == df["feature_id"]).all()
    perm = torch.randperm(40, generator=g)
    W_b = W[perm].clone()
    W_b[:10] = torch.randn(10, 32, generator=g)  # ten base features replaced by new directions
    df = match_table(0, "r", "b", W, W_b, threshold=0.7, labels_a={5: "digit five"})
    b_rows = df[df["model"] == "b"].set_index("feature_id")
    assert (b_rows.loc[10:, "best_match_feature"].to_numpy() == perm[10:].numpy()).all()
    assert b_rows.loc[10:, "shared"].all() and not b_rows.loc[:9, "shared"].any()
    r_rows = df[df["model"] == "r"].set_index("feature_id")
    assert r_rows["shared"].sum() == 30 and r_rows.loc[5, "label"] == "digit five" and pd.isna(r_rows.loc[6, "label"])
    s = summarise_matches(df).set_index("model")
    assert s.loc["b", "n_shared"] == 30 and s.loc["b", "frac_shared"] == pytest.approx(0.75)


def _write_transcoder(path, W_dec: torch.Tensor, seed: int):
    g = torch.Generator().manual_seed(seed)
    n, d = W_dec.shape
    path.mkdir(parents=True)
    (path / "cfg.json").write_text(json.dumps({"d_in": d, "num_latents": n, "k": 4, "activation": "topk",
                                                "skip_connection": True, "transcode": True}))
    save_file({"encoder.weight": torch.randn(n, d, generator=g), "encoder.bias": torch.zeros(n), "W_dec": W_dec.contiguous(),
               "b_dec": torch.zeros(d), "W_skip": torch.zeros(d, d)}, str(path / "sae.safetensors"))


def test_dictionary_cli_self_all_shared_with_labels(tmp_path):
    from r1interp.modeldiff.__main__ import main

    g = torch.Generator().manual_seed(2)
    for layer in (0, 1):
        _write_transcoder(tmp_path / "tc" / f"L{layer}", torch.randn(48, 16, generator=g), seed=layer)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "L1.json").write_text(json.dumps([
        {"feature_idx": 3, "layer": 1, "label": "plus sign", "status": "ok"},
        {"feature_idx": 4, "layer": 1, "label": "junk", "status": "failed"},
    ]))
    out = tmp_path / "out"
    rc = main(["dictionary", "--reasoner-name", "r", "--base-name", "b", "--reasoner-transcoders", str(tmp_path / "tc"),
               "--base-transcoders", str(tmp_path / "tc"), "--reasoner-labels", str(tmp_path / "labels"), "--out-dir", str(out)])
    assert rc == 0
    m = pd.read_parquet(out / "dictionary_match.parquet")
    assert list(m.columns[:7]) == ["layer", "feature_id", "model", "other_model", "best_match_feature", "cosine", "shared"]
    assert len(m) == 2 * 2 * 48 and m["shared"].all() and np.allclose(m["cosine"], 1.0, atol=1e-6)
    labelled = m[m["label"].notna()]
    assert labelled[["layer", "feature_id", "model", "label"]].values.tolist() == [[1, 3, "r", "plus sign"]]
    s = pd.read_parquet(out / "dictionary_summary.parquet")
    assert len(s) == 4 and (s["frac_shared"] == 1.0).all() and (s["n_features"] == 48).all()
    assert (out / "dictionary_match.png").read_bytes()[:4] == b"\x89PNG"
    # a missing layer is named in the error, before anything is written
    assert main(["dictionary", "--reasoner-name", "r", "--base-name", "b", "--reasoner-transcoders", str(tmp_path / "tc"),
                 "--base-transcoders", str(tmp_path / "tc"), "--layers", "0", "7", "--out-dir", str(tmp_path / "o2")]) == 2
    assert not (tmp_path / "o2").exists()


def test_residual_diff_reads_the_base_with_its_own_special_tokens(setup, tmp_path):
    """The base reads the same documents through the pair's token map, not the reasoner's special ids."""
    root, a, b, shard = setup
    docs = pd.read_parquet(shard)
    tok = load_model(a, device="cpu", dtype="float32")[1]
    specials = sorted(tok.added_tokens_decoder)  # every added token: chat turns, think markers, end
    swap = dict(zip(specials, specials[1:] + specials[:1]))  # the base's special tokens sit on other ids
    base_docs = docs.assign(input_ids=[[swap.get(int(t), int(t)) for t in ids] for ids in docs["input_ids"]])
    base_shard = tmp_path / "base-eval.parquet"
    base_docs.to_parquet(base_shard)
    assert any(x != y for r, s in zip(docs["input_ids"], base_docs["input_ids"]) for x, y in zip(r, s))
    rc = _residual(["--reasoner-path", str(a), "--reasoner-name", "r", "--base-path", str(b), "--base-name", "base",
                    "--shard", str(shard), "--base-shard", str(base_shard), "--out-dir", str(tmp_path / "o")])
    assert rc == 0
    got = pd.read_parquet(tmp_path / "o" / "residual_diff.parquet").set_index(["layer", "segment"]).loc[(0, "all"), "mean_l2"]
    ma, _ = load_model(a, device="cpu", dtype="float32")
    mb, _ = load_model(b, device="cpu", dtype="float32")
    own, wrong = [], []
    with torch.no_grad():
        for ids_r, ids_b in zip(docs["input_ids"], base_docs["input_ids"]):
            xr = torch.tensor(np.array(ids_r, dtype=np.int64))[None]
            xb = torch.tensor(np.array(ids_b, dtype=np.int64))[None]
            ha = ma(xr, output_hidden_states=True).hidden_states[1][0]
            own.append((ha - mb(xb, output_hidden_states=True).hidden_states[1][0]).norm(dim=-1)[1:])
            wrong.append((ha - mb(xr, output_hidden_states=True).hidden_states[1][0]).norm(dim=-1)[1:])
    assert got == pytest.approx(torch.cat(own).mean().item(), rel=1e-5)
    assert got != pytest.approx(torch.cat(wrong).mean().item(), rel=1e-3)
    # shards that are not one stream (another document order or length) are refused
    # a control (another fine-tune of the base) reads the stream as the base does: the base as its own
    # control differs from it by exactly nothing (read through the reasoner's ids it would not)
    assert _residual(["--reasoner-path", str(a), "--reasoner-name", "r", "--base-path", str(b), "--base-name", "base",
                      "--control-path", str(b), "--control-name", "ctl", "--shard", str(shard), "--base-shard", str(base_shard),
                      "--out-dir", str(tmp_path / "c")]) == 0
    ctl = pd.read_parquet(tmp_path / "c" / "residual_diff.parquet").query("comparison == 'control'")
    assert len(ctl) and (ctl["mean_l2"] == 0).all()
    bad = base_docs.assign(input_ids=[ids[:-1] for ids in base_docs["input_ids"]], segment=[s[:-1] for s in base_docs["segment"]])
    bad.to_parquet(tmp_path / "bad.parquet")
    assert _residual(["--reasoner-path", str(a), "--reasoner-name", "r", "--base-path", str(b), "--base-name", "base",
                      "--shard", str(shard), "--base-shard", str(tmp_path / "bad.parquet"), "--out-dir", str(tmp_path / "o2")]) == 2

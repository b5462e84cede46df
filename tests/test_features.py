"""Features stage: streaming statistics checked against a brute-force dense computation.

The model is the session's tiny random Qwen2 (3 layers, hidden 32); the transcoders are sparsify
``SparseCoder`` checkpoints with random weights, written with ``save_to_disk`` and read back with
our loader. Brute force runs each chunk alone through the model and keeps every activation.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from r1interp.artifacts.features import rebin_linear
from r1interp.artifacts.transcoder import SkipTranscoder, load_transcoder
from r1interp.features import Corpus, FeatureConfig, collect, run_pass, state_bytes_per_feature
from r1interp.features.accumulate import BatchContext, LayerAccumulator, NegativePool
from r1interp.features.buffers import Payload, SlotBuffer
from r1interp.features.corpus import Batch
from r1interp.features.hist import global_bin, global_edges
from r1interp.models import load_model

N_LATENTS, K = 64, 8
DEAD = [5, 17]  # features made impossible to activate

EXACT = dict(batch_tokens=256, max_batch_seqs=1, max_seq_len=48, skip_first_tokens=1, top_n=5,
             context_before=6, context_after=3, quantile_bins=4, quantile_per_bin=3, reservoir_size=24,
             n_negative=4, negative_pool=32, hist_bins=48, hist_bins_per_octave=4, n_logits=5,
             window_dtype="float32", quantiles=(0.5, 0.9, 0.99), seed=3)


def make_transcoder_dirs(root, n_layers: int, d_in: int) -> dict[int, object]:
    """Random sparsify skip transcoders; biases spread so tokens have fewer *and* more than k positives."""
    from sparsify import SparseCoder, SparseCoderConfig

    dirs = {}
    for layer in range(n_layers):
        torch.manual_seed(100 + layer)
        sc = SparseCoder(d_in, SparseCoderConfig(num_latents=N_LATENTS, k=K, transcode=True, skip_connection=True))
        with torch.no_grad():
            sc.encoder.weight.mul_(2.0)
            sc.encoder.bias.copy_(torch.empty(N_LATENTS).uniform_(-1.5, -0.2))
            sc.encoder.bias[DEAD] = -1e4
            sc.W_dec.copy_(torch.randn_like(sc.W_dec))
            sc.W_skip.copy_(0.1 * torch.randn_like(sc.W_skip))
        dirs[layer] = root / f"L{layer}"
        sc.save_to_disk(dirs[layer])
    return dirs


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny ops gain nothing from threads, and on a shared 2-core box two threads thrash."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_model_dir, tiny_shards):
    model, tokenizer = load_model(tiny_model_dir, device="cpu", dtype="float32")
    with torch.no_grad():  # a non-trivial final norm weight, so the logit lens must apply it
        torch.manual_seed(7)
        model.model.norm.weight.copy_(torch.rand_like(model.model.norm.weight) * 2)
    tc_root = tmp_path_factory.mktemp("transcoders")
    dirs = make_transcoder_dirs(tc_root, model.config.num_hidden_layers, model.config.hidden_size)
    transcoders = {layer: load_transcoder(p) for layer, p in dirs.items()}
    corpus = Corpus.from_parquet([tiny_shards["eval"]])
    return dict(model=model, tokenizer=tokenizer, transcoders=transcoders, corpus=corpus, tc_root=tc_root,
                model_dir=tiny_model_dir, shard=tiny_shards["eval"])


def brute_force(model, transcoders, corpus: Corpus, cfg: FeatureConfig):
    """Every chunk alone through the model; per layer a doc-coordinates activation array per row
    (NaN where a position is not counted) plus the flat counted activations and segments."""
    blocks = model.model.layers
    captured = {}
    hooks = [blocks[layer].mlp.register_forward_pre_hook(lambda m, a, layer=layer: captured.__setitem__(layer, a[0]))
             for layer in transcoders]
    dense = {layer: {} for layer in transcoders}
    flat = {layer: [] for layer in transcoders}
    segs = []
    try:
        for row in range(corpus.n_docs):
            a, b = corpus.offsets[row], corpus.offsets[row + 1]
            ids, seg = corpus.tokens[a:b], corpus.segments[a:b]
            for layer, tc in transcoders.items():
                dense[layer][row] = np.full((b - a, tc.num_latents), np.nan, dtype=np.float32)
            for start in range(0, b - a, cfg.max_seq_len):
                stop = min(b - a, start + cfg.max_seq_len)
                if stop - start <= cfg.skip_first_tokens:
                    continue
                with torch.no_grad():
                    model(torch.as_tensor(ids[start:stop], dtype=torch.long)[None])
                    for layer, tc in transcoders.items():
                        acts = tc.encode(captured[layer][0, cfg.skip_first_tokens:]).numpy()
                        dense[layer][row][start + cfg.skip_first_tokens:stop] = acts
                        flat[layer].append(acts)
                segs.append(seg[start + cfg.skip_first_tokens:stop])
    finally:
        for h in hooks:
            h.remove()
    return dense, {layer: np.concatenate(v) for layer, v in flat.items()}, np.concatenate(segs)


@pytest.fixture(scope="module")
def exact_run(setup):
    cfg = FeatureConfig(**EXACT)
    tables = collect(setup["model"], setup["tokenizer"], setup["transcoders"], setup["corpus"], cfg)
    dense, flat, segs = brute_force(setup["model"], setup["transcoders"], setup["corpus"], cfg)
    return cfg, tables, dense, flat, segs


def test_frequencies_max_mean_match_brute_force(exact_run):
    cfg, tables, _, flat, segs = exact_run
    for layer, (stats, _) in tables.items():
        acts = flat[layer]
        active = acts > 0
        assert (active.sum(1) <= K).all() and (active.sum(1) < K).any() and (active.sum(1) == K).any()
        np.testing.assert_array_equal(stats["feature_id"], np.arange(N_LATENTS))
        np.testing.assert_array_equal(stats["frac_active"], active.sum(0) / len(acts))
        for code, name in [(0, "other"), (1, "prompt"), (2, "think"), (3, "answer")]:
            sel = segs == code
            assert sel.any()
            np.testing.assert_array_equal(stats[f"frac_active_{name}"], active[sel].sum(0) / sel.sum())
        np.testing.assert_array_equal(stats["max_act"], acts.max(0).astype(np.float64))
        n = active.sum(0)
        mean = np.divide(acts.sum(0, dtype=np.float64), n, out=np.zeros(N_LATENTS), where=n > 0)
        np.testing.assert_allclose(stats["mean_act"], mean, rtol=1e-6)
        assert (stats.loc[DEAD, "frac_active"] == 0).all() and (stats.loc[DEAD, "max_act"] == 0).all()


def test_histogram_and_quantiles_match_brute_force(exact_run):
    cfg, tables, _, flat, _ = exact_run
    checked = 0
    for layer, (stats, _) in tables.items():
        for f in range(N_LATENTS):
            row = stats.iloc[f]
            vals = flat[layer][:, f][flat[layer][:, f] > 0]
            counts, edges = np.asarray(row["hist_counts"]), np.asarray(row["hist_edges"])
            assert len(counts) == cfg.hist_bins and len(edges) == cfg.hist_bins + 1
            if len(vals) == 0:
                assert counts.sum() == 0
                continue
            assert edges[-1] > vals.max() and edges[-2] <= vals.max()  # top slot holds the max
            np.testing.assert_array_equal(counts, np.histogram(vals.astype(np.float64), bins=edges)[0])
            if len(vals) >= 100:
                true = np.quantile(vals, cfg.quantiles)
                est = np.asarray(row["quantiles"])
                assert np.all(np.abs(np.log2(est / true)) <= 2 / cfg.hist_bins_per_octave), (layer, f, est, true)
                checked += 1
    assert checked > 20


def test_top_examples_match_brute_force(exact_run, setup):
    cfg, tables, dense, _, _ = exact_run
    corpus, tok = setup["corpus"], setup["tokenizer"]
    row_of = {int(d): r for r, d in enumerate(corpus.doc_ids)}
    for layer, (stats, ex) in tables.items():
        top = ex[ex["kind"] == "top"]
        for f in range(N_LATENTS):
            # brute force: best token of every chunk, then the top_n chunks
            cands = []
            for row, arr in dense[layer].items():
                for start in range(0, len(arr), cfg.max_seq_len):
                    col = arr[start:start + cfg.max_seq_len, f]
                    if np.nanmax(col, initial=0) > 0:
                        p = int(np.nanargmax(col))
                        cands.append((float(col[p]), row, start + p))
            cands.sort(key=lambda c: -c[0])
            got = top[top["feature_id"] == f]
            # the shards share a system prompt, so equal activations in different docs are common:
            # values must match rank by rank, and each example must be one of the chunks with its value
            assert list(got["act_max"]) == [c[0] for c in cands[: cfg.top_n]]
            assert list(got["rank"]) == list(range(len(got)))
            chunks_with = {}
            for value, row, pos in cands:
                chunks_with.setdefault(value, set()).add((row, pos))
            for _, e in got.iterrows():
                row, pos = row_of[e["doc_id"]], e["start"] + e["max_idx"]
                assert (row, pos) in chunks_with[e["act_max"]]
                chunk0 = pos - pos % cfg.max_seq_len
                assert e["start"] == max(chunk0 + cfg.skip_first_tokens, pos - cfg.context_before)
                end = min(chunk0 + cfg.max_seq_len, len(dense[layer][row]), pos + cfg.context_after + 1)
                assert len(e["acts"]) == end - e["start"]
                window = dense[layer][row][e["start"]:end, f]
                np.testing.assert_array_equal(e["acts"], window)
                a = corpus.offsets[row] + e["start"]
                np.testing.assert_array_equal(e["token_ids"], corpus.tokens[a:a + len(window)])
                assert list(e["tokens"]) == [tok.decode([int(i)]) for i in e["token_ids"]]
        assert not (top["feature_id"].isin(DEAD)).any()


def test_quantile_samples_are_active_and_binned(exact_run, setup):
    """Quantile examples: real active tokens, bins ordered by activation and full, and bin b's
    tokens sit around population percentile (b + 0.5) / bins on average."""
    cfg, tables, dense, flat, _ = exact_run
    row_of = {int(d): r for r, d in enumerate(setup["corpus"].doc_ids)}
    percentiles = {b: [] for b in range(cfg.quantile_bins)}
    for layer, (_, ex) in tables.items():
        q = ex[ex["kind"] == "quantile"]
        for f in range(N_LATENTS):
            got = q[q["feature_id"] == f]
            pop = np.sort(flat[layer][:, f][flat[layer][:, f] > 0])
            if len(pop) >= cfg.reservoir_size:
                assert got.groupby("quantile_bin").size().to_dict() == {b: cfg.quantile_per_bin for b in range(cfg.quantile_bins)}
            assert len(got) <= min(len(pop), cfg.quantile_bins * cfg.quantile_per_bin)
            by_bin = got.groupby("quantile_bin")["act_max"]
            assert (by_bin.max().to_numpy()[:-1] <= by_bin.min().to_numpy()[1:]).all()
            anchors = set()
            for _, e in got.iterrows():
                arr = dense[layer][row_of[e["doc_id"]]]
                pos = e["start"] + e["max_idx"]
                assert e["act_max"] == arr[pos, f] > 0 and e["acts"][e["max_idx"]] == e["act_max"]
                np.testing.assert_array_equal(e["acts"], arr[e["start"]:e["start"] + len(e["acts"]), f])
                anchors.add((e["doc_id"], pos))
                if len(pop) >= 100:
                    mid = (np.searchsorted(pop, e["act_max"]) + np.searchsorted(pop, e["act_max"], "right")) / 2
                    percentiles[e["quantile_bin"]].append(mid / len(pop))
            assert len(anchors) == len(got)  # sampled without replacement
    for b, p in percentiles.items():
        assert len(p) > 100 and abs(np.mean(p) - (b + 0.5) / cfg.quantile_bins) < 0.06, (b, np.mean(p))


def test_negatives_are_truly_inactive(exact_run, setup):
    cfg, tables, dense, _, _ = exact_run
    row_of = {int(d): r for r, d in enumerate(setup["corpus"].doc_ids)}
    for layer, (_, ex) in tables.items():
        neg = ex[ex["kind"] == "negative"]
        counts = neg.groupby("feature_id").size()
        assert counts.loc[DEAD].eq(cfg.n_negative).all()  # dead features: every pool window qualifies
        assert counts.sum() > N_LATENTS  # most features found some
        for _, e in neg.iterrows():
            window = dense[layer][row_of[e["doc_id"]]][e["start"]:e["start"] + len(e["acts"]), e["feature_id"]]
            assert not np.isnan(window).any() and (window == 0).all()
            assert e["max_idx"] == -1 and e["act_max"] == 0 and 0 < len(e["acts"]) <= cfg.window


def test_logit_lens_matches_manual_computation(exact_run, setup):
    cfg, tables, _, _, _ = exact_run
    model, tok = setup["model"], setup["tokenizer"]
    w_u = model.lm_head.weight.detach()[: len(tok)]
    g = model.model.norm.weight.detach()
    for layer, (stats, _) in tables.items():
        logits = (setup["transcoders"][layer].W_dec.detach() * g) @ w_u.T
        top, bottom = logits.topk(cfg.n_logits, dim=1), logits.topk(cfg.n_logits, dim=1, largest=False)
        for f in (0, 11, 40):
            assert list(stats.iloc[f]["top_logits"]) == [tok.decode([int(i)]) for i in top.indices[f]]
            assert list(stats.iloc[f]["bottom_logits"]) == [tok.decode([int(i)]) for i in bottom.indices[f]]
            np.testing.assert_allclose(stats.iloc[f]["top_logit_values"], top.values[f].numpy(), rtol=1e-5)
            np.testing.assert_allclose(stats.iloc[f]["bottom_logit_values"], bottom.values[f].numpy(), rtol=1e-5)


def test_batched_run_agrees_with_single_chunk_run(setup, exact_run):
    """Padding, packing and float16 windows change nothing beyond float noise."""
    cfg, tables, dense, flat, _ = exact_run
    batched = FeatureConfig(**{**EXACT, "batch_tokens": 512, "max_batch_seqs": 64, "window_dtype": "float16"})
    res = collect(setup["model"], setup["tokenizer"], setup["transcoders"], setup["corpus"], batched)
    row_of = {int(d): r for r, d in enumerate(setup["corpus"].doc_ids)}
    for layer, (stats, ex) in res.items():
        ref = tables[layer][0]
        n = len(flat[layer])
        assert np.abs(stats["frac_active"] - ref["frac_active"]).max() * n <= 2
        np.testing.assert_allclose(stats["max_act"], ref["max_act"], rtol=1e-4)
        for f in range(0, N_LATENTS, 7):
            a = ex[(ex["feature_id"] == f) & (ex["kind"] == "top")]["act_max"].to_numpy()
            b = tables[layer][1].query("feature_id == @f and kind == 'top'")["act_max"].to_numpy()
            np.testing.assert_allclose(a, b, rtol=1e-4)
        for _, e in ex[ex["kind"] != "negative"].iloc[::5].iterrows():
            window = dense[layer][row_of[e["doc_id"]]][e["start"]:e["start"] + len(e["acts"]), e["feature_id"]]
            np.testing.assert_allclose(e["acts"], window, rtol=2e-3, atol=1e-3)


def test_state_memory_is_independent_of_token_count(setup):
    cfg = FeatureConfig(**{**EXACT, "batch_tokens": 512, "max_batch_seqs": 64})
    corpus = setup["corpus"]
    small = Corpus.from_lists(corpus.doc_ids[:6], [corpus.tokens[corpus.offsets[r]:corpus.offsets[r + 1]] for r in range(6)])
    runs = [run_pass(setup["model"], setup["transcoders"], c, cfg, progress=False) for c in (small, corpus)]
    assert runs[1].n_tokens > 10 * runs[0].n_tokens
    pool_bytes = cfg.negative_pool * cfg.window * K * 4
    for layer in setup["transcoders"]:
        sizes = [r.layers[layer].nbytes() for r in runs]
        assert sizes[0] == sizes[1] == N_LATENTS * state_bytes_per_feature(cfg) + pool_bytes
        shapes = [{k: tuple(v.shape) for k, v in vars(r.layers[layer]).items() if isinstance(v, torch.Tensor)} for r in runs]
        assert shapes[0] == shapes[1]


def test_reservoir_is_a_uniform_sample():
    """2000 independent features each see items 0..49 in 5 batches and keep 10: every item's
    inclusion rate must be 10/50 (binomial tolerance), with no duplicates."""
    torch.manual_seed(0)
    n_feat, n_items, size = 2000, 50, 10
    buf = SlotBuffer(n_feat, size, 1, -2.0, torch.float32, torch.device("cpu"))
    for batch in range(5):
        item = torch.arange(batch * 10, batch * 10 + 10).repeat(n_feat)
        feat = torch.arange(n_feat).repeat_interleave(10)
        key = torch.rand(feat.numel())
        buf.offer(feat, -key, lambda i: Payload(item[i].float(), item[i], item[i].int(), item[i].int(),
                                                  torch.ones_like(i, dtype=torch.int32), torch.zeros(i.numel(), 1)))
    assert buf.filled().all()
    kept = buf.row.numpy()
    assert all(len(set(r)) == size for r in kept)
    rate = np.bincount(kept.ravel(), minlength=n_items)
    expect, sd = n_feat * size / n_items, np.sqrt(n_feat * 0.2 * 0.8)
    assert np.abs(rate - expect).max() < 5 * sd


def test_top_buffer_equals_global_sort():
    torch.manual_seed(1)
    n_feat, size = 50, 7
    buf = SlotBuffer(n_feat, size, 1, 0.0, torch.float32, torch.device("cpu"))
    allf, allv = [], []
    for _ in range(6):
        feat = torch.randint(0, n_feat, (300,))
        val = torch.rand(300) * torch.randint(1, 4, (300,))
        buf.offer(feat, val, lambda i: Payload(val[i], i, i.int(), i.int(), torch.ones_like(i, dtype=torch.int32), torch.zeros(i.numel(), 1)))
        allf.append(feat), allv.append(val)
    feat, val = torch.cat(allf), torch.cat(allv)
    for f in range(n_feat):
        want = torch.sort(val[feat == f], descending=True).values[:size]
        got = torch.sort(buf.value[f][buf.filled()[f]], descending=True).values
        torch.testing.assert_close(got, want)


def test_top_buffer_ties_keep_the_earliest():
    """Equal activations (shared prompt prefixes give many): a slot keeps its example against an
    equal candidate, and among equal candidates of one batch the earlier offered wins."""
    buf = SlotBuffer(1, 3, 1, 0.0, torch.float32, torch.device("cpu"))

    def offer(values, rows):
        val, row = torch.tensor(values), torch.tensor(rows)
        buf.offer(torch.zeros(len(values), dtype=torch.long), val,
                  lambda i: Payload(val[i], row[i], i.int(), i.int(), torch.ones_like(i, dtype=torch.int32), torch.zeros(i.numel(), 1)))

    offer([1.0, 2.0, 2.0, 2.0, 2.0], [10, 11, 12, 13, 14])
    assert sorted(buf.row[0].tolist()) == [11, 12, 13]  # 14 is a later equal candidate
    offer([2.0, 2.0], [20, 21])
    assert sorted(buf.row[0].tolist()) == [11, 12, 13]  # equal candidates never evict
    offer([2.0, 3.0], [30, 31])
    assert sorted(buf.value[0].tolist()) == [2.0, 2.0, 3.0] and 31 in buf.row[0].tolist() and 30 not in buf.row[0].tolist()


def test_global_bin_equals_a_binary_search_of_the_edges():
    for bpo in (1, 8, 16):
        edges = global_edges(bpo)
        values = torch.cat([edges, torch.nextafter(edges, torch.zeros_like(edges)),
                            torch.nextafter(edges, torch.full_like(edges, 3e38)), torch.exp(torch.randn(20000) * 15)])
        values = values[values > 0]
        want = (torch.bucketize(values, edges, right=True) - 1).clamp(0, edges.numel() - 2)
        assert torch.equal(global_bin(values, edges, bpo), want)


def test_histogram_follows_a_growing_max_exactly():
    """Identity transcoder (acts = relu(x)): values spanning 30 octaves arrive with the max growing
    batch by batch; counts must equal np.histogram on the final edges, underflow folded into slot 0."""
    n_feat, bins, bpo = 3, 16, 2
    tc = SkipTranscoder(torch.eye(n_feat), torch.zeros(n_feat), torch.eye(n_feat), torch.zeros(n_feat), None, n_feat)
    cfg = FeatureConfig(hist_bins=bins, hist_bins_per_octave=bpo, skip_first_tokens=0, reservoir_size=4, top_n=2,
                        context_before=1, context_after=1, negative_pool=2, max_seq_len=64, batch_tokens=64)
    gen = torch.Generator().manual_seed(0)
    acc = LayerAccumulator(tc, cfg, NegativePool(2, cfg.window, torch.device("cpu"), gen), gen)
    rng = np.random.default_rng(0)
    seen = []
    for step in range(6):
        x = np.exp2(rng.uniform(-10, -10 + 5 * (step + 1), size=(40, n_feat))).astype(np.float32)
        x[rng.random(x.shape) < 0.3] = 0.0
        seen.append(x)
        batch = Batch(np.zeros((1, 40), np.int64), np.zeros((1, 40), np.int64), np.array([0]), np.array([0]), np.array([40]))
        acc.update(torch.from_numpy(x.copy()), BatchContext.build(batch, 0, torch.device("cpu")))
    allx = np.concatenate(seen)
    from r1interp.features.hist import feature_edges
    edges = feature_edges(acc.hist_top.numpy(), bins, bpo).astype(np.float64)
    for f in range(n_feat):
        vals = allx[:, f][allx[:, f] > 0].astype(np.float64)
        np.testing.assert_array_equal(acc.hist[f].numpy(), np.histogram(vals, bins=edges[f])[0])
        assert acc.hist[f, 0] > 0 and vals.min() < edges[f, 1] / 2**4  # the underflow slot is in use
        assert acc.count[f] == len(vals) and acc.max[f] == np.float32(vals.max())
    spread = rebin_linear(acc.hist[0].numpy(), edges[0], 10, 0.0, float(acc.max[0]))
    assert spread.sum() == pytest.approx(acc.hist[0].sum().item())


def test_cli_writes_all_layers_in_one_job(setup, tmp_path):
    from r1interp.features.__main__ import main

    out = tmp_path / "features"
    layers = sorted(setup["transcoders"])
    params = {**EXACT, "max_batch_seqs": 32, "batch_tokens": 1024}
    main(["collect", "--model-path", str(setup["model_dir"]), "--shards", str(setup["shard"]),
          "--transcoders-dir", str(setup["tc_root"]), "--layers", *map(str, layers), "--out-dir", str(out),
          "--device", "cpu", "--dtype", "float32", "--params", json.dumps(params), "--no-progress"])
    summary = json.loads((out / "summary.json").read_text())
    lengths = setup["corpus"].lengths()
    chunk_lens = [min(48, n - s) for n in lengths for s in range(0, n, 48)]
    assert summary["tokens_processed"] == sum(c for c in chunk_lens if c > 1)  # 1-token tails count nowhere
    assert summary["tokens_counted"] == sum(c - 1 for c in chunk_lens if c > 1)
    assert sorted(summary["layers"]) == [str(layer) for layer in layers]
    for layer in layers:
        assert summary["layers"][str(layer)]["dead_fraction"] == pytest.approx(len(DEAD) / N_LATENTS)
        stats = pq.read_table(out / f"L{layer}.stats.parquet")
        ex = pq.read_table(out / f"L{layer}.examples.parquet")
        assert stats.num_rows == N_LATENTS
        assert stats.schema.names == ["feature_id", "frac_active", "frac_active_prompt", "frac_active_think",
                                      "frac_active_answer", "frac_active_other", "max_act", "mean_act", "quantiles",
                                      "hist_counts", "hist_edges", "top_logits", "top_logit_values", "bottom_logits",
                                      "bottom_logit_values"]
        assert ex.schema.names == ["feature_id", "kind", "quantile_bin", "rank", "doc_id", "start", "token_ids",
                                   "tokens", "acts", "max_idx", "act_max"]
        assert set(ex.column("kind").to_pylist()) == {"top", "quantile", "negative"}
    assert not list(out.glob(".*tmp*"))


def test_cli_rejects_bad_inputs_before_loading_the_model(setup, tmp_path):
    from r1interp.features.__main__ import main

    base = ["collect", "--model-path", str(setup["model_dir"]), "--shards", str(setup["shard"]),
            "--transcoders-dir", str(setup["tc_root"]), "--out-dir", str(tmp_path / "o")]
    with pytest.raises(SystemExit, match="out of range"):
        main(base + ["--layers", "0", "7"])
    empty = tmp_path / "no-transcoders"
    with pytest.raises(SystemExit, match="L0/cfg.json"):
        main(base[:6] + [str(empty)] + base[7:] + ["--layers", "0"])
    with pytest.raises(SystemExit, match="top_k"):
        main(base + ["--layers", "0", "--params", '{"top_k": 3}'])
    with pytest.raises(SystemExit, match="missing.parquet"):
        main(base[:4] + [str(tmp_path / "missing.parquet")] + base[5:] + ["--layers", "0"])
    assert not (tmp_path / "o").exists()

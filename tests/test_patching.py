"""Activation patching: number edits, the answer-changed validation on constructed cases, the
patching identities (clean into clean changes nothing; patching everything recovers fully;
patching before the edit recovers nothing), pair building on a real tiny model, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from r1interp.artifacts.generations import load_traces
from r1interp.models import load_model
from r1interp.patching.edits import answer_span, edit_number, map_position, number_spans, replacement_values, token_strings
from r1interp.patching.effects import normalised_logit_diff, pair_effects
from r1interp.patching.pairs import Pair, PairConfig, build_pair, build_pairs, first_divergence
from r1interp.models import residual_cache
from r1interp.patching.residual import PatchJob, logits_at, patched_logit_diffs
from test_heads_support import build_model, build_tokenizer, encode_trace, toy_problems, write_generations


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    return build_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tok):
    # a larger init makes the random model sensitive to one edited token, so some edits change its answer
    return build_model(tmp_path_factory.mktemp("model"), tok, n_layers=3, seed=0, init_range=0.4)


@pytest.fixture(scope="module")
def model(model_dir):
    return load_model(model_dir, device="cpu", dtype="float32")[0]


# ----------------------------------------------------------------------------- edits
def test_number_spans_and_edit(tok):
    row = encode_trace(tok, {"id": "x", "question": "What is 26+8*2?", "think": "8*2=16. 26+16=42.", "answer": "The answer is \\boxed{42}."})
    ids = row["prompt_ids"] + row["output_ids"]
    pieces = token_strings(tok, ids)
    ts, te = row["think_start"], row["think_end"]
    spans = number_spans(pieces, ts + 1, te)
    assert [s.value for s in spans] == [8, 2, 16, 26, 16, 42]
    ans = answer_span(pieces, te + 1, len(ids))
    assert ans.value == 42 and ans.tok_lo > te
    edited = edit_number(tok, ids, spans[-1], 47)
    assert tok.decode(edited[ts + 1 : te + (len(edited) - len(ids))]) == "8*2=16. 26+16=47."
    assert edited[: spans[-1].tok_lo] == ids[: spans[-1].tok_lo]
    assert edited[spans[-1].tok_hi + len(edited) - len(ids) :] == ids[spans[-1].tok_hi :]


def test_replacement_values_and_position_map():
    assert replacement_values(1, 4) == [2, 0, 3, 4]
    assert replacement_values(0, 3) == [1, 2, 3]
    assert 7 not in replacement_values(7, 10) and len(set(replacement_values(7, 10))) == 10
    assert map_position(3, 5, 7, 2) == 3
    assert map_position(8, 5, 7, 2) == 10
    assert map_position(6, 5, 7, 2) is None
    assert map_position(6, 5, 7, 0) == 6


def test_first_divergence_constructed_cases():
    clean_tokens = np.array([4, 2, 9])
    # predictions agree everywhere: the answer did not change
    assert first_divergence(np.array([4, 2, 9]), np.array([4, 2, 9]), clean_tokens) is None
    # the corrupted model changes the second answer token; the clean model is greedy on the first
    assert first_divergence(np.array([4, 2, 9]), np.array([4, 7, 1]), clean_tokens) == 1
    # a change at the first token
    assert first_divergence(np.array([4, 2, 9]), np.array([5, 2, 9]), clean_tokens) == 0
    # the clean trace is not the clean model's greedy answer before the change: off-policy, rejected
    assert first_divergence(np.array([3, 2, 9]), np.array([3, 7, 9]), clean_tokens) is None
    # ...but a change exactly where the clean model departs from the text is its own greedy choice
    assert first_divergence(np.array([3, 2, 9]), np.array([5, 2, 9]), clean_tokens) == 0


def test_normalised_logit_diff():
    assert normalised_logit_diff(np.array([-1.0, 3.0, 1.0]), 3.0, -1.0).tolist() == [0.0, 1.0, 0.5]
    assert np.isnan(normalised_logit_diff(np.array([1.0]), 2.0, 2.0)).all()


# ----------------------------------------------------------------------------- patching identities
@pytest.fixture(scope="module")
def manual_pair(model, tok):
    """A same-length corrupted copy (one think digit changed) with tokens whose LD differs."""
    row = encode_trace(tok, toy_problems(1, seed=5)[0])
    ids = row["prompt_ids"] + row["output_ids"]
    pieces = token_strings(tok, ids)
    te = row["think_end"]
    span = next(s for s in reversed(number_spans(pieces, row["think_start"] + 1, te))
                if len(edit_number(tok, ids, s, s.value + 1)) == len(ids))
    corrupt = edit_number(tok, ids, span, span.value + 1)
    last = te + 3  # a position in the answer segment
    lc = logits_at(model, ids[: last + 1], [last])[0]
    lk = logits_at(model, corrupt[: last + 1], [last])[0]
    a = int(lc.argmax())
    b = int(((lk - lk[a]) - (lc - lc[a])).argmax())  # the token the edit favours most relative to a
    pair = Pair("m", "m", "arithmetic", ids[: last + 1], corrupt[: last + 1], span.tok_lo, span.tok_hi, 0,
                span.value, span.value + 1, te, a, b)
    return pair


def test_clean_into_clean_changes_nothing(model, manual_pair):
    p = manual_pair
    cache = residual_cache(model, p.clean_ids)
    base = logits_at(model, p.clean_ids, [p.decision_pos])[0]
    ld_clean = float(base[p.clean_token] - base[p.corrupt_token])
    n = len(p.clean_ids)
    jobs = [PatchJob(layer, pos, pos) for layer in range(3) for pos in (tuple(range(n)), (n - 1,), (0, 4, 5))]
    lds = patched_logit_diffs(model, p.clean_ids, cache, [0, 1, 2], jobs, p.decision_pos, p.clean_token, p.corrupt_token, batch_size=4)
    assert lds.shape == (len(jobs),)
    assert torch.allclose(lds, torch.full_like(lds, ld_clean), atol=1e-5)


def test_patching_everything_recovers_and_before_edit_nothing(model, manual_pair):
    p = manual_pair
    eff = pair_effects(model, p, [0, 1, 2], ["all", "answer", "reasoning_end"], n_reasoning=3, batch_size=5)
    assert abs(eff.ld_clean - eff.ld_corrupt) > 1e-3
    df = pd.DataFrame(eff.rows)
    assert len(df) == 9 and set(df["position_set"]) == {"all", "answer", "reasoning_end"}
    # the identity behind the normalisation, on the primitive: every position (the read one included)
    # patched at any layer restores the clean run exactly
    cache = residual_cache(model, p.clean_ids)
    n = len(p.clean_ids)
    every = patched_logit_diffs(model, p.corrupt_ids, cache, [0, 1, 2], [PatchJob(l, tuple(range(n)), tuple(range(n))) for l in range(3)],
                                p.decision_pos, p.clean_token, p.corrupt_token)
    assert np.allclose(normalised_logit_diff(every.numpy(), eff.ld_clean, eff.ld_corrupt), 1.0, atol=1e-4)
    # the named sets leave the read position alone, so at the last layer (whose outputs at other
    # positions never reach the read logits) nothing changes: no set recovers "by construction"
    last = df[df["layer"] == 2]
    assert np.allclose(last["norm_logit_diff"], 0.0, atol=1e-4), last
    # positions strictly before the edit carry identical residuals in both runs: no effect
    before = tuple(range(p.edit_lo))
    lds = patched_logit_diffs(model, p.corrupt_ids, cache, [0, 1, 2], [PatchJob(l, before, before) for l in range(3)],
                              p.decision_pos, p.clean_token, p.corrupt_token)
    assert np.allclose(normalised_logit_diff(lds.numpy(), eff.ld_clean, eff.ld_corrupt), 0.0, atol=1e-4)


def test_position_sets_never_include_the_read_position(model, manual_pair):
    """The read (decision) position is outside every set, also when the decision is read at ``</think>``."""
    from dataclasses import replace

    from r1interp.patching.effects import POSITION_SETS, clean_positions, position_role

    p = manual_pair
    at_close = replace(p, clean_ids=p.clean_ids[: p.think_end + 1], corrupt_ids=p.corrupt_ids[: p.think_end + 1])
    assert at_close.decision_pos == at_close.think_end
    for pair in (p, at_close):
        for name in POSITION_SETS:
            pos = clean_positions(pair, name, 3)
            assert pair.decision_pos not in pos and all(q < pair.decision_pos for q in pos), (name, pos)
    unedited = lambda qs: [q for q in qs if not p.edit_lo <= q < p.edit_hi]  # noqa: E731 - the headline never holds an edited token
    assert clean_positions(p, "reasoning_end", 3) == unedited([p.think_end - 2, p.think_end - 1, p.think_end])
    assert clean_positions(at_close, "reasoning_end", 3) == unedited([p.think_end - 3, p.think_end - 2, p.think_end - 1])
    assert clean_positions(p, "answer", 3) == list(range(p.think_end + 1, p.decision_pos))
    assert clean_positions(p, "all", 3) == list(range(p.decision_pos))
    df = pd.DataFrame(pair_effects(model, at_close, [0, 1, 2], list(POSITION_SETS), n_reasoning=3).rows)
    assert (df.loc[df["position_set"] == "answer", "n_positions"] == 0).all()  # nothing between </think> and the read
    head = df[df["position_set"] == "reasoning_end"]
    assert (head["n_positions"] + head["n_edited_left_out"] == 3).all()
    assert {n: position_role(n) for n in POSITION_SETS} == {"reasoning_end": "headline", "answer": "sanity_check", "edit": "sanity_check",
                                                             "all": "sanity_check"}
    assert (df["role"] == df["position_set"].map(position_role)).all()


# ----------------------------------------------------------------------------- pair building
def test_the_headline_set_leaves_out_the_edited_tokens(model, manual_pair):
    """When the edit lies in the last think tokens (the trace's final restated result), patching it
    back restores the input itself: ``reasoning_end`` leaves it out and says how many it left out,
    and the ``edit`` set shows that trivial effect apart."""
    from dataclasses import replace

    from r1interp.patching.effects import clean_positions, excluded_edit_positions

    p = manual_pair
    window = 3 + (p.think_end - p.edit_lo)  # a window that reaches back over the edited number
    assert p.edit_hi <= p.think_end
    near = clean_positions(p, "reasoning_end", window)
    assert near == [q for q in range(p.think_end - window + 1, p.think_end + 1) if not p.edit_lo <= q < p.edit_hi]
    assert clean_positions(p, "edit", window) == list(range(p.edit_lo, p.edit_hi))
    df = pd.DataFrame(pair_effects(model, p, [0, 1, 2], ["reasoning_end", "edit"], n_reasoning=window).rows).set_index(["position_set", "layer"])
    assert (df.loc["reasoning_end", "n_edited_left_out"] == p.edit_hi - p.edit_lo).all()
    assert (df.loc["reasoning_end", "n_positions"] == window - (p.edit_hi - p.edit_lo)).all()
    assert (df.loc["edit", "n_positions"] == p.edit_hi - p.edit_lo).all()
    assert np.isfinite(df.loc["edit", "norm_logit_diff"]).all() and (df.loc["edit", "role"] == "sanity_check").all()
    # a window after the edit leaves nothing out
    after = replace(p, edit_lo=0, edit_hi=1)
    assert excluded_edit_positions(after, "reasoning_end", 3) == 0 and len(clean_positions(after, "reasoning_end", 3)) == 3


def test_build_pair_drop_reasons(model, tok):
    from r1interp.artifacts.generations import Trace

    def trace(problem, **over):
        r = encode_trace(tok, problem)
        ids = np.array(r["prompt_ids"] + r["output_ids"])
        t = dict(prompt_id=problem["id"], category="c", correct=True, ids=ids, segment=np.array(r["segment"], np.int8),
                 prompt_len=len(r["prompt_ids"]), think_start=r["think_start"], think_end=r["think_end"])
        t.update(over)
        return Trace(**t)

    base = {"id": "a", "question": "What is 3+4*5?", "think": "4*5=20. 3+20=23.", "answer": "\\boxed{23}"}
    cfg = PairConfig(max_edits=2)
    assert build_pair(model, tok, trace(base, think_start=-1, think_end=-1), cfg).reason == "no_think"
    assert build_pair(model, tok, trace(base, think_end=-1), cfg).reason == "think_not_closed"
    assert build_pair(model, tok, trace({**base, "answer": "twenty-three"}), cfg).reason == "no_answer_number"
    assert build_pair(model, tok, trace({**base, "think": "four times five, add three."}), cfg).reason == "no_number_in_think"
    assert build_pair(model, tok, trace(base), PairConfig(max_len=10)).reason == "too_long"


def test_build_pairs_on_model_traces(model, tok, tmp_path):
    gens = write_generations(tmp_path / "g.parquet", tok, toy_problems(6, seed=7))
    traces = load_traces(gens)
    outcomes = build_pairs(model, tok, traces, PairConfig(max_edits=4))
    assert len(outcomes) == 6
    kept = [o for o in outcomes if o.pair is not None]
    dropped = [o for o in outcomes if o.pair is None]
    assert kept and dropped, "this seed gives both kinds: some edits change the random model's answer, some do not"
    for o in kept:
        p = o.pair
        lc = logits_at(model, p.clean_ids, [p.decision_pos])[0]
        lk = logits_at(model, p.corrupt_ids, [p.decision_pos + p.delta])[0]
        assert int(lc.argmax()) == p.clean_token != p.corrupt_token == int(lk.argmax())
        assert p.decision_pos >= p.think_end and p.edit_hi <= p.think_end
        assert p.clean_ids[: p.edit_lo] == p.corrupt_ids[: p.edit_lo]
        assert p.clean_ids[p.edit_hi :] == p.corrupt_ids[p.edit_hi + p.delta :]
        assert p.clean_ids[p.edit_lo : p.edit_hi] != p.corrupt_ids[p.edit_lo : p.edit_hi + p.delta]
    for o in dropped:
        assert o.reason == "answer_unchanged" and o.n_edits_tried == 4
    # a limit on kept pairs stops the search early
    assert sum(o.pair is not None for o in build_pairs(model, tok, traces[:3], PairConfig(max_edits=4), max_pairs=1)) == 1


def test_cli_end_to_end(model_dir, tok, tmp_path):
    from r1interp.patching.__main__ import main

    gens = write_generations(tmp_path / "g.parquet", tok, toy_problems(6, seed=7))
    out = tmp_path / "patching"
    rc = main(["run", "--model-path", str(model_dir), "--model-name", "tiny", "--generations", str(gens), "--out-dir", str(out),
               "--device", "cpu", "--dtype", "float32", "--max-edits", "4", "--n-reasoning-tokens", "3"])
    assert rc == 0
    pairs = pd.read_parquet(out / "pairs.parquet")
    eff = pd.read_parquet(out / "effects.parquet")
    summary = json.loads((out / "summary.json").read_text())
    kept = pairs[pairs["status"] == "kept"]
    assert len(pairs) == 6 and summary["n_kept"] == len(kept) >= 1
    assert summary["n_dropped"] == sum(summary["dropped_by_reason"].values()) == 6 - len(kept) >= 1
    assert set(pairs.loc[pairs["status"] == "dropped", "reason"]) == {"answer_unchanged"}
    assert list(eff.columns[:5]) == ["pair_id", "layer", "position_set", "role", "norm_logit_diff"]
    assert len(eff) == len(kept) * 3 * 2 and set(eff["position_set"]) == {"reasoning_end", "answer"}
    assert set(eff["pair_id"]) == set(kept["pair_id"])
    assert (kept["ld_clean"] > kept["ld_corrupt"]).all()
    # reasoning_end is the headline, answer a labelled sanity check, in the table and the summary
    assert dict(zip(eff["position_set"], eff["role"])) == {"reasoning_end": "headline", "answer": "sanity_check"}
    assert summary["headline_position_set"] == "reasoning_end" and summary["roles"]["answer"] == "sanity_check"
    assert {m["role"] for m in summary["mean_norm_logit_diff"] if m["position_set"] == "answer"} == {"sanity_check"}
    # the read position is never patched: the last layer changes nothing in any set (no recovery by construction)
    head = eff.query("position_set == 'reasoning_end'")
    assert (head["n_positions"] + head["n_edited_left_out"] == 3).all()  # the window, edited tokens left out and counted
    assert np.allclose(eff.query("layer == 2")["norm_logit_diff"].dropna(), 0.0, atol=1e-4)
    assert (out / "heatmap.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_rejects_unknown_position_set(tmp_path):
    from r1interp.patching.__main__ import main

    with pytest.raises(SystemExit):
        main(["run", "--model-path", "x", "--generations", "g", "--out-dir", str(tmp_path), "--position-sets", "middle"])


def test_number_edits_with_the_toy_tokenizer(toy_tokenizer, toy_problems):
    """The project's own byte-level BPE: every number of a think trace is found and re-spelt."""
    import re

    for p in toy_problems[:20]:
        ids = toy_tokenizer.encode(p.think, add_special_tokens=False)
        pieces = token_strings(toy_tokenizer, ids)
        spans = number_spans(pieces, 0, len(ids))
        assert [s.value for s in spans] == [int(x) for x in re.findall(r"[0-9]+", p.think)]
        span = spans[-1]
        edited = edit_number(toy_tokenizer, ids, span, span.value + 7)
        last = list(re.finditer(r"[0-9]+", p.think))[-1]
        assert toy_tokenizer.decode(edited) == p.think[: last.start()] + str(span.value + 7) + p.think[last.end() :]

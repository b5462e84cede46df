"""Autointerp without a server: config, selection, sampling, prompts, parsers, no-key labels, DB."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from autointerp_helpers import DIGITS, write_layer
from r1interp.artifacts.labels import load_label_records, load_labels
from r1interp.autointerp import AutointerpConfig, build_db
from r1interp.autointerp.inputs import read_examples, read_stats, select_features
from r1interp.autointerp.pipeline import LayerInput, label_model
from r1interp.autointerp.prompts import (
    ParseError,
    explain_prompt,
    FeatureContext,
    parse_binary_list,
    parse_explanation,
    render,
)
from r1interp.autointerp.sampling import (
    active_marks,
    balanced_accuracy,
    detection_samples,
    fuzzing_samples,
    rng_for,
    split_examples,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def layer0(tmp_path_factory) -> tuple[Path, Path]:
    return write_layer(tmp_path_factory.mktemp("features"), 0)


def test_config_defaults_match_schema_and_config_yaml():
    schema = yaml.safe_load((ROOT / "schemas/stages/autointerp.schema.yaml").read_text())
    defaults = {k: v["default"] for k, v in schema["properties"].items()}
    assert AutointerpConfig.from_dict(defaults) == AutointerpConfig()
    assert set(defaults) == set(AutointerpConfig.__dataclass_fields__)
    section = yaml.safe_load((ROOT / "config.yaml").read_text())["autointerp"]
    assert AutointerpConfig.from_dict(section) == AutointerpConfig()
    with pytest.raises(ValueError, match="unknown key.*'spend_cap'"):
        AutointerpConfig.from_dict({"spend_cap": 1})
    with pytest.raises(ValueError, match="min_frequency"):
        AutointerpConfig.from_dict({"min_frequency": 2})
    with pytest.raises(ValueError, match="no prices entry for llm_model='mystery'"):
        AutointerpConfig.from_dict({"llm_model": "mystery"}).price()


def test_selection_respects_frequency_cap_and_seed(layer0):
    stats = read_stats(layer0[0])
    cfg = AutointerpConfig(max_features_per_layer=None)
    every = select_features(stats, cfg, layer=0)
    assert every == [0, 1, 2, 3, 6, 7]  # dead (4) and rare (5, 0.04% of tokens) excluded
    cfg = AutointerpConfig(max_features_per_layer=3, seed=1)
    a, b = select_features(stats, cfg, 0), select_features(stats, cfg, 0)
    assert a == b and len(a) == 3 and set(a) <= set(every)
    others = {tuple(select_features(stats, AutointerpConfig(max_features_per_layer=3, seed=s), 0)) for s in range(8)}
    assert len(others) > 1  # the sample depends on the seed
    top = select_features(stats, AutointerpConfig(max_features_per_layer=2, selection="top"), 0)
    freq = stats.loc[every, "frac_active"].sort_values(ascending=False)
    assert top == sorted(freq.index[:2].tolist())


def test_render_marks_and_escapes():
    toks = ("a", "<<", "b", "\n", "c", "d")
    assert render(toks, (2, 4, 5)) == "a‹‹<<b>>\\n<<cd>>"
    assert render(toks) == "a‹‹b\\ncd"
    assert active_marks((0.0, 1.0, 0.2, 0.0), 0.0) == (1, 2)
    assert active_marks((0.0, 1.0, 0.2, 0.0), 0.5) == (1,)


def test_split_detection_fuzzing_samples(layer0):
    ex = read_examples(layer0[1], [0])[0]  # the digit feature
    split = split_examples(ex, 10, 0.6, rng_for(0, 0, 0, "explain"))
    assert len(split.explain) == 10 and [e.kind for e in split.explain[:6]] == ["top"] * 6
    shown = {(e.doc_id, e.start) for e in split.explain}
    assert len(shown) == len(split.explain)  # no window twice (the helper's tables repeat some)
    assert split.held_out and not shown & {(e.doc_id, e.start) for e in split.activating}
    det = detection_samples(split, 10, rng_for(0, 0, 0, "detection"))
    assert sorted(s.truth for s in det) == [0] * 5 + [1] * 5
    for s in det:
        has_digit = any(t in DIGITS for t in s.example.tokens)
        assert s.truth == int(s.example.max_act > 0) == int(has_digit)
    fuz = fuzzing_samples(split, 10, 0.0, rng_for(0, 0, 0, "fuzzing"))
    assert sorted(s.truth for s in fuz) == [0] * 5 + [1] * 5
    for s in fuz:
        true = active_marks(s.example.acts, 0.0)
        if s.truth:
            assert s.marked == true
        else:
            assert len(s.marked) == len(true) and not set(s.marked) & set(true)
    again = fuzzing_samples(split, 10, 0.0, rng_for(0, 0, 0, "fuzzing"))
    assert [(s.example.doc_id, s.marked) for s in again] == [(s.example.doc_id, s.marked) for s in fuz]


def test_the_strongest_windows_are_shown_first_even_when_also_quantile_samples(tmp_path, layer0):
    """A window that is both a top example and a quantile sample is kept as the top one, and the
    table is read top examples first (an alphabetical sort had put them last, after quantiles)."""
    import pandas as pd

    from r1interp.autointerp.inputs import KINDS

    table = pd.read_parquet(layer0[1])
    feature = int(table["feature_id"].iloc[0])
    rows = table[table["feature_id"] == feature]
    strongest = rows[rows["kind"] == "top"].sort_values("rank").iloc[0]
    twin = strongest.copy()
    twin["kind"], twin["quantile_bin"], twin["rank"] = "quantile", int(rows["quantile_bin"].max()), 0
    path = tmp_path / "L0.examples.parquet"
    pd.concat([pd.DataFrame([twin]), table], ignore_index=True).astype(table.dtypes.to_dict()).to_parquet(path)
    ex = read_examples(path, [feature])[feature]
    assert [KINDS.index(e.kind) for e in ex] == sorted(KINDS.index(e.kind) for e in ex)  # top, quantile, negative
    split = split_examples(ex, 10, 0.6, rng_for(0, 0, feature, "explain"))
    first = split.explain[0]
    assert (first.kind, first.doc_id, first.start) == ("top", int(strongest["doc_id"]), int(strongest["start"]))
    assert first.max_act == max(e.max_act for e in split.explain)


def test_balanced_accuracy():
    assert balanced_accuracy([1, 1, 0, 0], [1, 1, 0, 0]) == 1.0
    assert balanced_accuracy([1, 1, 1, 0], [1, 1, 1, 1]) == 0.5  # all-yes is chance, not 75%
    assert balanced_accuracy([1, 0, 0, 0], [1, 0, 1, 1]) == pytest.approx(0.5 * (1 + 1 / 3))
    assert balanced_accuracy([1, 1], [1, 0]) is None


def test_parsers():
    r = parse_explanation('```json\n{"label": "digits", "confidence": 0.8, "explanation": "x", "class": "Token_Level"}\n```')
    assert r == {"label": "digits", "confidence": 0.8, "explanation": "x", "class": "token-level"}
    for bad in (
        "no json here",
        '{"label": "", "confidence": 0.5, "explanation": "", "class": "domain"}',
        '{"label": "a", "confidence": 5, "explanation": "", "class": "domain"}',
        '{"label": "a", "confidence": 0.5, "explanation": "", "class": "vibes"}',
        '{"label": "a", "confidence": 0.5, "explanation": "", "class": "domain"',
    ):
        with pytest.raises(ParseError):
            parse_explanation(bad)
    assert parse_binary_list("Answer: [1, 0, true]", 3) == [1, 0, 1]
    for bad in ("[1, 0]", "[1, 2, 0]", "[1, 0.5, 0]", "none"):
        with pytest.raises(ParseError):
            parse_binary_list(bad, 3)


def test_explain_prompt_shows_marked_examples(layer0):
    ex = read_examples(layer0[1], [1])[1]  # the "+" feature
    split = split_examples(ex, 12, 0.5, rng_for(0, 0, 1, "explain"))
    ctx = FeatureContext(0.05, {"think": 0.1}, ("=",), (".",))
    system, user = explain_prompt("v1", split.explain, ctx, 0.0)
    lines = [ln for ln in user.splitlines() if ln.startswith("Example ")]
    assert len(lines) == 12
    assert all("<<+" in ln for ln in lines)  # every shown example marks its activating "+"
    assert "'='" in user and "5%" in user and "think: 10%" in user and "JSON" in system


def test_no_key_labels_and_db(tmp_path, layer0):
    stats, examples = layer0
    s1, e1 = write_layer(tmp_path / "features", 1)
    cfg = AutointerpConfig(max_features_per_layer=None)
    out = [tmp_path / "labels" / "L0.json", tmp_path / "labels" / "L1.json"]
    inputs = [LayerInput(0, stats, examples, out[0]), LayerInput(1, s1, e1, out[1])]
    label_model("toy", inputs, cfg, tmp_path / "journal.sqlite", api_key=None)
    entries = json.loads(out[0].read_text())
    assert [e["feature_idx"] for e in entries] == [0, 1, 2, 3, 6, 7]
    for e in entries:
        assert e["status"] == "unlabeled" and e["label_source"] == "auto-summary"
        assert e["label"] is None and e["class"] is None and e["model_name"] is None
    plus = next(e for e in entries if e["feature_idx"] == 1)
    assert plus["auto_summary"].startswith("fires on: '+'×")
    digit = next(e for e in entries if e["feature_idx"] == 0)
    assert "promotes: '=', ' so'" in digit["auto_summary"]

    # one LLM label, to check it wins over the auto summary in load_labels
    entries[1].update(label="plus sign", label_source="llm", status="labeled", detection=1.0, fuzzing=0.8)
    out[0].write_text(json.dumps(entries))
    db = tmp_path / "labels.sqlite"
    counts = build_db(db, "toy", [0, 1], out, [examples, e1])
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    labels = load_labels(db)
    assert labels[(0, 1)] == "plus sign"
    assert labels[(0, 0)].startswith("[auto] fires on:") and (1, 7) in labels and (0, 4) not in labels
    assert load_labels(db, include_auto=False) == {(0, 1): "plus sign"}
    rec = {(r["layer"], r["feature_id"]): r for r in load_label_records(db)}
    assert rec[(0, 1)]["quality"] == pytest.approx(0.9) and rec[(0, 0)]["quality"] is None
    assert counts["autointerp"] == 12

    con = sqlite3.connect(db)
    cols = {t: [r[1] for r in con.execute(f"PRAGMA table_info({t})")] for t in ("autointerp", "tokens", "activations")}
    assert cols["tokens"] == ["sequence_id", "token_idx", "token", "decoded_token"]
    assert cols["activations"] == ["layer", "feature_id", "sequence_id", "token_idx", "strength"]
    assert cols["autointerp"][:7] == ["layer", "feature_id", "label", "quality", "interestingness", "model_name", "prompt_version"]
    # activations equal the examples table's non-zero entries of the selected features
    df = pq.read_table(examples).to_pandas()
    df = df[df.feature_id.isin([0, 1, 2, 3, 6, 7])]
    want = {
        (int(r.feature_id), int(r.doc_id), int(r.start) + i): a
        for r in df.itertuples()
        for i, a in enumerate(r.acts)
        if a
    }
    got = {(f, d, i): s for f, d, i, s in con.execute("SELECT feature_id, sequence_id, token_idx, strength FROM activations WHERE layer=0")}
    assert got.keys() == want.keys() and all(np.isclose(got[k], want[k]) for k in want)
    tok = dict(((d, i), t) for d, i, t in con.execute("SELECT sequence_id, token_idx, decoded_token FROM tokens"))
    r = df.iloc[0]
    assert [tok[(int(r.doc_id), int(r.start) + i)] for i in range(len(r.tokens))] == list(r.tokens)
    con.close()

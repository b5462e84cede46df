"""Autointerp against a loopback Messages API server, through the real ``anthropic`` SDK.

The fake server (tests/fake_anthropic_server.py) answers deterministically from the prompt, so the
labels and the detection / fuzzing scores it yields are known; it can fail on demand and counts
successful answers per request key, which is how "no paid call repeated" is checked.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from autointerp_helpers import DIGITS, SECRET, cli, fast_cfg, journal_rows, label_args, write_layer
from fake_anthropic_server import FakeAnthropic
from r1interp.artifacts.labels import load_labels
from r1interp.autointerp import AutointerpConfig
from r1interp.autointerp.__main__ import main as cli_main
from r1interp.autointerp.client import FatalAPIError
from r1interp.autointerp.pipeline import LayerInput, label_model

SELECTED = [0, 1, 2, 3, 6, 7]  # eligible features of the synthetic layers
CLEAN = {0: set(DIGITS), 1: {"+"}, 2: {"cat"}, 6: {"sum"}, 7: {"check"}}  # feature → tokens it fires on


@pytest.fixture(scope="module")
def layers(tmp_path_factory) -> list[tuple[int, Path, Path]]:
    d = tmp_path_factory.mktemp("features")
    return [(layer, *write_layer(d, layer)) for layer in (0, 1)]


@pytest.fixture
def server():
    srv = FakeAnthropic().start()
    yield srv
    srv.stop()


def run(tmp: Path, layers, cfg: AutointerpConfig, key: str | None = SECRET) -> dict[int, list[dict]]:
    inputs = [LayerInput(layer, s, e, tmp / "labels" / f"L{layer}.json") for layer, s, e in layers]
    return label_model("toy", inputs, cfg, tmp / "journal.sqlite", key)


def label_tokens(label: str) -> set[str]:
    assert label.startswith("tok:"), label
    return {t for t in label[4:].split("|") if t}


def made_of(span: str, tokens: set[str]) -> bool:
    """A marked span may merge repeated tokens ("++", "cat cat")."""
    for t in sorted(tokens, key=len, reverse=True):
        span = span.replace(t, "")
    return not span.strip()


def check_labels(per_layer: dict[int, list[dict]], scoring: bool = True) -> None:
    for layer, entries in per_layer.items():
        assert [e["feature_idx"] for e in entries] == SELECTED
        for e in entries:
            assert e["status"] == "labeled" and e["label_source"] == "llm", e
            assert e["model_name"] == "fake-claude" and e["prompt_version"] == "v1"
            f = e["feature_idx"]
            if f in CLEAN:
                assert label_tokens(e["label"]) and all(made_of(t, CLEAN[f]) for t in label_tokens(e["label"])), e
                assert e["class"] == "token-level" and e["confidence"] == 0.9
                if scoring:
                    assert e["detection"] == 1.0 and e["fuzzing"] == 1.0, e
            else:  # the random feature
                assert e["class"] == "uninterpretable"
                if scoring:
                    assert e["detection"] < 1.0 or e["fuzzing"] < 1.0
    digit = per_layer[0][0]
    assert label_tokens(digit["label"]) == set(DIGITS)


def assert_no_secret(*roots: Path) -> int:
    n = 0
    for root in roots:
        for p in [root] if root.is_file() else root.rglob("*"):
            if p.is_file():
                n += 1
                assert SECRET.encode() not in p.read_bytes(), f"API key leaked into {p}"
    return n


def test_labels_scores_and_resume_without_new_calls(tmp_path, layers, server, caplog):
    caplog.set_level(logging.DEBUG)
    out = run(tmp_path, layers, fast_cfg(server))
    check_labels(out)
    n_tasks = 2 * len(SELECTED) * 3  # explain + detection + fuzzing per feature and layer
    assert server.total_success == n_tasks and set(server.success.values()) == {1}
    sent = [h.get("authorization", "") + h.get("x-api-key", "") for h in server.headers]
    assert all(SECRET in s for s in sent)  # the SDK really used the key from us ...
    assert SECRET not in caplog.text and assert_no_secret(tmp_path) >= 3  # ... and it went nowhere else
    first = (tmp_path / "labels" / "L0.json").read_text()
    n_paths = len(server.paths)
    again = run(tmp_path, layers, fast_cfg(server))  # everything is in the journal
    assert len(server.paths) == n_paths
    assert again == out and (tmp_path / "labels" / "L0.json").read_text() == first
    # a different llm_model is a different label: nothing reused
    cfg2 = fast_cfg(server, llm_model="fake-claude-2", prices={"fake-claude-2": {"input": 1.0, "output": 5.0}})
    run(tmp_path, layers[:1], cfg2)
    assert len(server.paths) == n_paths + len(SELECTED) * 3


def test_retries_on_429_529_500_malformed_and_hang(tmp_path, layers, server, caplog):
    caplog.set_level(logging.INFO)
    server.faults.extend(["429", "529", "500", "bad_content", "bad_body", "hang"])
    server.hang_s = 3.0
    t0 = time.monotonic()
    out = run(tmp_path, layers, fast_cfg(server, timeout_s=0.5))
    assert time.monotonic() - t0 >= 0.5  # the hung request was timed out, not waited for
    check_labels(out)
    assert dict(server.fault_counts) == {f: 1 for f in ("429", "529", "500", "bad_content", "bad_body", "hang")}
    assert set(server.success.values()) == {1} and server.total_success == 2 * len(SELECTED) * 3
    journal = tmp_path / "journal.sqlite"
    extra = journal_rows(journal, "SELECT SUM(attempts - 1), COUNT(*) FROM calls WHERE status='ok'")[0]
    assert extra == (6, 2 * len(SELECTED) * 3)  # each fault cost exactly one more attempt
    paid = journal_rows(journal, "SELECT ok, COUNT(*) FROM spend GROUP BY ok")
    assert dict(paid) == {0: 1, 1: 2 * len(SELECTED) * 3}  # the unparseable reply was paid for
    assert "retrying" in caplog.text and SECRET not in caplog.text


def test_concurrency_is_bounded(tmp_path, layers, server):
    server.delay_s = 0.05
    run(tmp_path, layers[:1], fast_cfg(server, concurrency=3, scoring=False))
    assert server.max_inflight == 3


def test_spend_cap_stops_cleanly(tmp_path, layers, server):
    cap = 0.01  # below the cost of the explanations alone (~$0.011), above one worst-case request
    cfg = fast_cfg(server, spend_cap_usd=cap, concurrency=2)
    out = run(tmp_path, layers, cfg)
    statuses = [e["status"] for es in out.values() for e in es]
    assert "labeled" in statuses and "skipped_budget" in statuses
    assert set(statuses) <= {"labeled", "skipped_budget"}
    journal = tmp_path / "journal.sqlite"
    spent = journal_rows(journal, "SELECT SUM(cost_usd) FROM spend")[0][0]
    n_ok = journal_rows(journal, "SELECT COUNT(*) FROM calls WHERE status='ok'")[0][0]
    assert 0.9 * cap <= spent <= cap
    assert len(server.paths) == server.total_success == n_ok  # no request was sent past the cap
    assert journal_rows(journal, "SELECT COUNT(*) FROM reservations")[0][0] == 0
    skipped = [e for es in out.values() for e in es if e["status"] == "skipped_budget"]
    assert all(e["label"] is None and e["label_source"] == "auto-summary" for e in skipped)
    # a restart under the same cap keeps what was bought and may only spend what is left
    again = run(tmp_path, layers, cfg)
    assert journal_rows(journal, "SELECT SUM(cost_usd) FROM spend")[0][0] <= cap
    labeled = {(e["layer"], e["feature_idx"]) for es in out.values() for e in es if e["status"] == "labeled"}
    assert labeled <= {(e["layer"], e["feature_idx"]) for es in again.values() for e in es if e["status"] == "labeled"}
    # raising the cap finishes the job; nothing bought before is bought again
    check_labels(run(tmp_path, layers, fast_cfg(server, spend_cap_usd=10.0)))
    assert set(server.success.values()) == {1} and server.total_success == 2 * len(SELECTED) * 3


def test_message_batches_with_errored_and_malformed_results(tmp_path, layers, server):
    server.batch_faults.extend(["errored", "bad_content"])
    server.polls_until_ended = 2
    out = run(tmp_path, layers, fast_cfg(server, use_batches=True))
    check_labels(out)
    assert not any(p.startswith("POST /v1/messages ") or p == "POST /v1/messages" for p in server.paths)
    creates = [p for p in server.paths if p == "POST /v1/messages/batches"]
    assert len(creates) == 3  # explain batch + its retry round, scoring batch
    assert set(server.success.values()) == {1} and server.total_success == 2 * len(SELECTED) * 3
    n = len(server.paths)
    assert run(tmp_path, layers, fast_cfg(server, use_batches=True)) == out
    assert len(server.paths) == n


def test_batches_respect_spend_cap(tmp_path, layers, server):
    out = run(tmp_path, layers, fast_cfg(server, use_batches=True, spend_cap_usd=0.005))  # ~half the full cost
    statuses = [e["status"] for es in out.values() for e in es]
    assert "labeled" in statuses and "skipped_budget" in statuses
    journal = tmp_path / "journal.sqlite"
    assert 0 < journal_rows(journal, "SELECT SUM(cost_usd) FROM spend")[0][0] <= 0.005
    n_sent = sum(len(b["results"]) for b in server.batches.values())
    assert n_sent == server.total_success == journal_rows(journal, "SELECT COUNT(*) FROM calls WHERE status='ok'")[0][0]


def test_interrupted_batch_is_resumed_not_resubmitted(tmp_path, layers, server):
    server.polls_until_ended = 10**6  # the batch never ends within this run
    cfg = fast_cfg(server, use_batches=True, batch_max_wait_s=0.1)
    with pytest.raises(RuntimeError, match="not ended"):
        run(tmp_path, layers, cfg)
    assert server.paths.count("POST /v1/messages/batches") == 1
    server.polls_until_ended = 0
    check_labels(run(tmp_path, layers, cfg))  # picks the open batch up from the journal
    assert server.paths.count("POST /v1/messages/batches") == 2  # + the scoring batch only
    assert set(server.success.values()) == {1} and server.total_success == 2 * len(SELECTED) * 3


def test_fatal_auth_error_stops_the_run(tmp_path, layers, server):
    server.faults.extend(["401"] * 50)
    with pytest.raises(FatalAPIError, match="401"):
        run(tmp_path, layers, fast_cfg(server, concurrency=1))
    assert len(server.paths) == 1


# ------------------------------------------------------------------------------- CLI subprocesses


def db_args(tmp: Path, layers) -> list[str]:
    return [
        "db",
        "--model", "toy",
        "--layers", *[str(layer) for layer, _, _ in layers],
        "--labels-json", *[str(tmp / "labels" / f"L{layer}.json") for layer, _, _ in layers],
        "--examples", *[str(e) for _, _, e in layers],
        "--out", str(tmp / "labels.sqlite"),
    ]  # fmt: skip


def test_cli_without_key_makes_no_request(tmp_path, layers, server, caplog, monkeypatch):
    for name in [k for k in os.environ if k.startswith("ANTHROPIC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)  # even pointed at a server: no request
    assert cli_main(label_args(tmp_path, layers, fast_cfg(server))) == 0
    assert server.paths == []
    entries = json.loads((tmp_path / "labels" / "L1.json").read_text())
    assert [e["feature_idx"] for e in entries] == SELECTED
    assert {(e["status"], e["label_source"], e["label"]) for e in entries} == {("unlabeled", "auto-summary", None)}
    assert "ANTHROPIC_API_KEY is not set" in caplog.text
    assert cli_main(db_args(tmp_path, layers)) == 0
    labels = load_labels(tmp_path / "labels.sqlite")
    assert len(labels) == 2 * len(SELECTED) and labels[(1, 1)].startswith("[auto] fires on: '+'")


def test_cli_rejects_bad_inputs_before_any_request(tmp_path, layers, server, caplog, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    args = label_args(tmp_path, layers, fast_cfg(server))
    bad = list(args)
    bad[bad.index("--stats") + 1] = str(tmp_path / "missing.parquet")
    assert cli_main(bad) == 2 and "missing.parquet: file not found" in caplog.text
    bad = list(args)
    bad[bad.index("--stats") + 1] = str(layers[0][2])  # an examples table where stats belong
    assert cli_main(bad) == 2 and "missing column(s) ['frac_active'" in caplog.text
    bad = args[: args.index("--params")] + ["--params", json.dumps({"llm_model": "claude-unpriced"})]
    assert cli_main(bad) == 2 and "no prices entry for llm_model='claude-unpriced'" in caplog.text
    bad = args[: args.index("--out-json") + 2] + args[args.index("--journal") :]  # one --out-json for 2 layers
    assert cli_main(bad) == 2 and "one value per layer" in caplog.text
    assert server.paths == [] and not (tmp_path / "labels").exists()
    assert SECRET not in caplog.text


def test_cli_killed_mid_run_resumes_without_duplicates(tmp_path, layers, server):
    n_tasks = 2 * len(SELECTED) * 3
    cfg = fast_cfg(server, concurrency=2)
    journal = tmp_path / "autointerp" / "journal.sqlite"
    log = tmp_path / "logs" / "label.log"
    log.parent.mkdir()
    server.hold_after = 7  # answer 7 requests, then hold the rest until the kill
    proc = cli(label_args(tmp_path, layers, cfg), log, key=SECRET)
    deadline = time.monotonic() + 40
    n_ok = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists():
            try:
                n_ok = journal_rows(journal, "SELECT COUNT(*) FROM calls WHERE status='ok'")[0][0]
            except sqlite3.OperationalError:
                n_ok = 0
        if n_ok == 7 and server.admitted > 7:
            break
        time.sleep(0.05)
    assert n_ok == 7 and proc.poll() is None, log.read_text()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert server.total_success == 7 and not (tmp_path / "labels" / "L0.json").exists()
    server.hold_after = None
    server.release.set()  # held requests give up without an answer

    assert cli(label_args(tmp_path, layers, cfg), log, key=SECRET).wait(60) == 0, log.read_text()
    assert server.total_success == n_tasks and set(server.success.values()) == {1}  # nothing paid twice
    per_layer = {layer: json.loads((tmp_path / "labels" / f"L{layer}.json").read_text()) for layer in (0, 1)}
    check_labels(per_layer)
    assert cli_main(db_args(tmp_path, layers)) == 0
    labels = load_labels(tmp_path / "labels.sqlite")
    assert all(made_of(t, {"+"}) for t in label_tokens(labels[(0, 1)]))
    sent = [h.get("authorization", "") + h.get("x-api-key", "") for h in server.headers]
    assert all(SECRET in s for s in sent)
    assert assert_no_secret(tmp_path) >= 5  # journal (+WAL), JSON, DB, logs

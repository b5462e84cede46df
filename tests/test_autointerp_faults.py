"""Autointerp at scale, against the loopback Messages API server through the real ``anthropic``
SDK: the spend cap shared by many layer jobs, replies of every odd shape, a reply journaled but
never parsed, prompt caching and the measured cost file."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from autointerp_helpers import SECRET, cli, fast_cfg, journal_rows, label_args, write_layer
from fake_anthropic_server import FakeAnthropic, fake_answer
from r1interp.autointerp import AutointerpConfig, read_cost
from r1interp.autointerp.__main__ import main as cli_main
from r1interp.autointerp.journal import Journal, TaskKey, Usage
from r1interp.autointerp.pipeline import LayerInput, label_async, label_model
from r1interp.autointerp.prompts import EXPLAIN_SYSTEM, DETECTION_SYSTEM, FUZZING_SYSTEM

N_FEATURES = 6  # eligible features per synthetic layer


@pytest.fixture(scope="module")
def layer_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("features")


def make_layers(d: Path, n: int) -> list[tuple[int, Path, Path]]:
    return [(layer, *write_layer(d, layer)) for layer in range(n)]


@pytest.fixture
def server():
    srv = FakeAnthropic().start()
    yield srv
    srv.stop()


def inputs(tmp: Path, layers) -> list[LayerInput]:
    return [LayerInput(layer, s, e, tmp / "labels" / f"L{layer}.json") for layer, s, e in layers]


def spent(journal: Path) -> float:
    return journal_rows(journal, "SELECT COALESCE(SUM(cost_usd), 0) FROM spend")[0][0]


def full_cost(tmp: Path, layers, server: FakeAnthropic, **kw) -> float:
    """What labelling and scoring every feature costs (an uncapped run on its own journal)."""
    cfg = fast_cfg(server, **{"concurrency": 8, **kw})
    label_model("toy", inputs(tmp, layers), cfg, tmp / "journal.sqlite", SECRET)
    server.success.clear()
    server.paths.clear()
    return spent(tmp / "journal.sqlite")


def test_six_layer_processes_stop_near_the_cap(tmp_path, layer_dir, server):
    """Six per-layer CLI jobs (as Snakemake runs them) share one journal and a cap of half the full
    cost: together they spend 90-100% of the cap, never more, and say committed and reserved."""
    layers = make_layers(layer_dir, 6)
    full = full_cost(tmp_path / "ref", layers, server)
    cap = full / 2
    server.delay_s = 0.02
    cfg = fast_cfg(server, spend_cap_usd=cap, concurrency=4, budget_poll_s=0.02)
    log = tmp_path / "label.log"
    procs = [cli(label_args(tmp_path, [layer], cfg), log, key=SECRET) for layer in layers]
    assert [p.wait(120) for p in procs] == [0] * 6, log.read_text()
    journal = tmp_path / "autointerp" / "journal.sqlite"
    used = spent(journal)
    assert 0.9 * cap <= used <= cap, (used, cap, full)
    assert journal_rows(journal, "SELECT COUNT(*) FROM reservations")[0][0] == 0
    statuses = [e["status"] for layer, _, _ in layers for e in json.loads((tmp_path / "labels" / f"L{layer}.json").read_text())]
    assert "skipped_budget" in statuses and "labeled" in statuses
    assert set(server.success.values()) == {1} and len(server.paths) == server.total_success
    text = log.read_text()
    assert "committed $" in text and "reserved $" in text and f"spend cap ${cap:.4f}" in text
    assert SECRET not in text


def test_28_layer_jobs_share_the_cap(tmp_path, layer_dir, server, caplog):
    """28 layer jobs, each with its own journal connection (one event loop stands in for 28
    processes; the cross-process locking is the test above): 90-100% of the cap is used."""
    caplog.set_level(logging.INFO)
    layers = make_layers(layer_dir, 28)
    small = dict(scoring=False, max_features_per_layer=3)  # keeps it fast
    full = full_cost(tmp_path / "ref", layers, server, **small)
    cap = full / 2
    cfg = fast_cfg(server, spend_cap_usd=cap, concurrency=8, budget_poll_s=0.01, **small)
    journal_path = tmp_path / "journal.sqlite"

    async def all_jobs():
        journals = [Journal(journal_path) for _ in layers]
        try:
            return await asyncio.gather(
                *[label_async("toy", inputs(tmp_path, [li]), cfg, j, SECRET) for li, j in zip(layers, journals)]
            )
        finally:
            for j in journals:
                j.close()

    per_job = asyncio.run(all_jobs())
    used = spent(journal_path)
    assert 0.9 * cap <= used <= cap, (used, cap, full)
    statuses = [e["status"] for out in per_job for es in out.values() for e in es]
    assert len(statuses) == 28 * 3 and {"labeled", "skipped_budget"} <= set(statuses)
    assert set(server.success.values()) == {1} and len(server.paths) == server.total_success
    assert "committed $" in caplog.text and "reserved $" in caplog.text


def test_non_message_replies_are_retried_and_never_bought_twice(tmp_path, layer_dir, server):
    """5% of replies are HTTP 200 JSON that is not a Message: the run completes, every feature is
    labelled or failed with a reason, every reply is journaled, and a restart buys nothing again."""
    layers = make_layers(layer_dir, 4)
    server.fault_rate = {"not_message": 0.05}
    cfg = fast_cfg(server, concurrency=4, max_retries=2)
    out = label_model("toy", inputs(tmp_path, layers), cfg, tmp_path / "journal.sqlite", SECRET)
    faults = server.fault_counts["not_message"]
    assert faults >= 2  # the fault really happened
    entries = [e for es in out.values() for e in es]
    assert len(entries) == 4 * N_FEATURES
    for e in entries:
        assert e["status"] == "labeled" or (e["status"] == "failed" and "not a Message" in e["error"]), e
    journal = tmp_path / "journal.sqlite"
    # every paid reply is in the journal, the odd ones charged at their estimate
    assert journal_rows(journal, "SELECT COUNT(*) FROM spend")[0][0] == len(server.paths)
    assert journal_rows(journal, "SELECT COUNT(*) FROM spend WHERE usage_known=0")[0][0] == faults
    assert journal_rows(journal, "SELECT MIN(cost_usd) FROM spend WHERE usage_known=0")[0][0] > 0
    assert set(server.success.values()) == {1}
    n_ok = server.total_success
    server.fault_rate = {}
    again = label_model("toy", inputs(tmp_path, layers), cfg, journal, SECRET)
    assert set(server.success.values()) == {1}  # nothing bought twice
    assert all(e["status"] == "labeled" for es in again.values() for e in es)
    assert server.total_success - n_ok == journal_rows(journal, "SELECT COUNT(*) FROM calls WHERE status='ok'")[0][0] - n_ok


def test_no_text_block_max_tokens_and_refusal(tmp_path, layer_dir, server):
    """A Message without a text block is retried; a reply cut at max_tokens that does not parse
    and a refusal fail their feature with the reason; the others are labelled."""
    layers = make_layers(layer_dir, 1)
    server.faults.extend(["no_text", "max_tokens", "refusal"])
    cfg = fast_cfg(server, concurrency=1, scoring=False)  # the first three requests are explanations
    out = label_model("toy", inputs(tmp_path, layers), cfg, tmp_path / "journal.sqlite", SECRET)
    entries = out[0]
    failed = sorted(e["error"] for e in entries if e["status"] == "failed")
    assert len(failed) == 2 and "max_tokens=400" in failed[0] and "refused" in failed[1], failed
    assert sum(e["status"] == "labeled" for e in entries) == N_FEATURES - 2
    journal = tmp_path / "journal.sqlite"
    rows = dict(journal_rows(journal, "SELECT COALESCE(stop_reason, error), COUNT(*) FROM spend WHERE ok=0 GROUP BY 1"))
    assert rows.get("max_tokens") == 1 and rows.get("refusal") == 1
    no_text = "SELECT stop_reason FROM spend WHERE error LIKE 'reply has no text block%' ORDER BY stop_reason"
    assert journal_rows(journal, no_text) == [("end_turn",), ("refusal",)]
    assert journal_rows(journal, "SELECT COUNT(*) FROM spend")[0][0] == len(server.paths) == N_FEATURES + 1


def test_reply_journaled_but_not_parsed_is_used_on_restart(tmp_path, layer_dir, server):
    """A run killed between journaling a paid reply and parsing it: the restart parses the stored
    reply and sends no request for that task."""
    layers = make_layers(layer_dir, 1)
    cfg = fast_cfg(server, scoring=False)
    from r1interp.autointerp.pipeline import explain_task, prepare_layer

    li = inputs(tmp_path, layers)[0]
    job = prepare_layer(li, cfg)[0]
    task = explain_task("toy", job, cfg)
    journal = Journal(tmp_path / "journal.sqlite")
    journal.record_paid(task.key, Usage(100, 20), 0.0002, prompt_chars=task.prompt_chars,
                        reply=fake_answer(task.system, task.prompt), stop_reason="end_turn")
    journal.close()
    out = label_model("toy", [li], cfg, tmp_path / "journal.sqlite", SECRET)
    assert all(e["status"] == "labeled" for e in out[0])
    assert len(server.paths) == N_FEATURES - 1  # not for the journaled one
    assert journal_rows(tmp_path / "journal.sqlite", "SELECT COUNT(*) FROM spend WHERE parsed IS NULL")[0][0] == 0


@pytest.mark.parametrize("use_batches", [False, True])
def test_prompt_caching_and_measured_cost(tmp_path, layer_dir, server, use_batches):
    """The system prompt goes out as a cached block; the server's cache usage is priced from the
    config into cost.json (tokens by kind, dollars, dollars per feature)."""
    layers = make_layers(layer_dir, 2)
    server.cache_min_tokens = 50  # the toy system prompts (~100-150 tokens) become cacheable
    prices = {"fake-claude": {"input": 2.0, "output": 10.0, "cache_write": 2.5, "cache_read": 0.2}}
    cfg = fast_cfg(server, prices=prices, use_batches=use_batches)
    label_model("toy", inputs(tmp_path, layers), cfg, tmp_path / "autointerp" / "journal.sqlite", SECRET)
    labels = [str(tmp_path / "labels" / f"L{layer}.json") for layer, _, _ in layers]
    out = tmp_path / "autointerp" / "cost.json"
    args = ["cost", "--model", "toy", "--journal", str(tmp_path / "autointerp" / "journal.sqlite"),
            "--labels-json", *labels, "--out", str(out), "--params", json.dumps({"llm_model": "fake-claude", "prices": prices,
            "batch_price_factor": cfg.batch_price_factor})]  # fmt: skip
    assert cli_main(args) == 0
    cost = json.loads(out.read_text())
    n_calls = 2 * N_FEATURES * 3
    assert cost["features_labelled"] == cost["features_selected"] == 2 * N_FEATURES
    assert cost["calls"]["paid"] == n_calls and cost["calls"]["batch"] == (n_calls if use_batches else 0)
    prefix = {t: len(s) // 4 for t, s in (("explain", EXPLAIN_SYSTEM), ("detection", DETECTION_SYSTEM),
                                          ("fuzzing", FUZZING_SYSTEM))}  # fmt: skip
    per_task = 2 * N_FEATURES
    for task, n in prefix.items():  # written once, read by every later request of that kind
        assert cost["tokens_by_task"][task]["cache_creation_input"] == n
        assert cost["tokens_by_task"][task]["cache_read_input"] == n * (per_task - 1)
    t = cost["tokens"]
    assert t["input"] > 0 and t["output"] > 0
    factor = cfg.batch_price_factor if use_batches else 1.0
    dollars = (t["input"] * 2.0 + t["output"] * 10.0 + t["cache_creation_input"] * 2.5 + t["cache_read_input"] * 0.2) / 1e6
    assert cost["dollars"] == pytest.approx(dollars * factor, rel=1e-6)
    assert cost["dollars_per_feature"] == pytest.approx(cost["dollars"] / (2 * N_FEATURES), rel=1e-4)
    # the journal's charged costs agree with the priced usage
    assert cost["dollars"] == pytest.approx(spent(tmp_path / "autointerp" / "journal.sqlite"), rel=1e-6)
    assert read_cost(out) == cost  # what the cost plan reads
    with pytest.raises(FileNotFoundError, match="nothing.json"):
        read_cost(tmp_path / "nothing.json")


def test_cost_without_journal_is_zero(tmp_path, layer_dir):
    """No key, no journal: cost.json says nothing was bought (and creates no journal)."""
    layers = make_layers(layer_dir, 1)
    cfg_json = json.dumps({})
    label_model("toy", inputs(tmp_path, layers), AutointerpConfig(), tmp_path / "j.sqlite", None)  # no key
    out = tmp_path / "cost.json"
    assert cli_main(["cost", "--model", "toy", "--journal", str(tmp_path / "missing.sqlite"), "--labels-json",
                     str(tmp_path / "labels" / "L0.json"), "--out", str(out), "--params", cfg_json]) == 0
    cost = json.loads(out.read_text())
    assert cost["dollars"] == 0 and cost["calls"]["paid"] == 0 and cost["dollars_per_feature"] is None
    assert cost["features_selected"] == N_FEATURES and cost["features_labelled"] == 0
    assert not (tmp_path / "missing.sqlite").exists()


def test_reservation_of_a_job_killed_elsewhere_expires(tmp_path, layer_dir, server):
    """A job killed on another host leaves its reservation behind: the others wait for it only
    until it expires (the longest its request could take), then use the budget."""
    import time

    layers = make_layers(layer_dir, 1)
    journal = Journal(tmp_path / "journal.sqlite")
    journal.db.execute(
        "INSERT INTO reservations (host, pid, amount, ts, expires) VALUES ('other-node', 1, 1.0, ?, ?)",
        (time.time(), time.time() + 1.0),
    )
    journal.close()
    cfg = fast_cfg(server, spend_cap_usd=1.0, budget_poll_s=0.05, scoring=False)  # the orphan holds it all
    t0 = time.monotonic()
    out = label_model("toy", inputs(tmp_path, layers), cfg, tmp_path / "journal.sqlite", SECRET)
    assert all(e["status"] == "labeled" for e in out[0])
    assert time.monotonic() - t0 >= 0.5  # it did wait for the orphan
    assert journal_rows(tmp_path / "journal.sqlite", "SELECT COUNT(*) FROM reservations")[0][0] == 0

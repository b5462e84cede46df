"""``r1interp publish``: the release folder, read back by sparsify and our circuit-tracer loader,
and its uploads to loopback Hub / Neuronpedia servers (real processes, real client libraries)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import torch

from conftest import REPO

from r1interp.publish.__main__ import main as publish

MODEL = "tiny"


def _sparsify_layer(path: Path, seed: int, d: int = 8) -> None:
    from sparsify import SparseCoder, SparseCoderConfig

    torch.manual_seed(seed)
    sc = SparseCoder(d, SparseCoderConfig(num_latents=16, k=4, transcode=True, skip_connection=True))
    with torch.no_grad():
        for p in sc.parameters():
            p.normal_()
    sc.save_to_disk(path)


@pytest.fixture()
def results(tmp_path) -> Path:
    """One model's stage outputs in the workflow's layout (real sparsify checkpoints and export)."""
    from r1interp.transcoders.export import export_circuit_tracer

    r = tmp_path / "results"
    tc = r / MODEL / "transcoders"
    for layer in range(2):
        _sparsify_layer(tc / f"L{layer}", seed=layer)
    (tc / "circuit_tracer").mkdir()
    export_circuit_tracer({i: tc / f"L{i}" for i in range(2)}, tc / "circuit_tracer", scan=f"r1interp/{MODEL}")
    (tc / "README.md").write_text("---\nlibrary_name: sparsify\n---\n# Skip transcoders\n\n## Faithfulness\n\n| layer | ce |\n")
    con = sqlite3.connect(r / MODEL / "labels.sqlite")
    con.execute("create table labels (layer int, feature int, label text)")
    con.execute("insert into labels values (0, 3, 'digit seven')")
    con.commit(), con.close()
    g = r / MODEL / "graphs"
    metas = []
    for slug in ("p1-think", "p1-answer"):
        meta = {"slug": slug, "scan": f"./data/features/{MODEL}", "prompt": "2+3=", "prompt_tokens": ["2", "+", "3", "="]}
        metas.append(meta)
        (g / f"{slug}.json").parent.mkdir(parents=True, exist_ok=True)
        (g / f"{slug}.json").write_text(json.dumps({"metadata": meta, "nodes": [], "links": []}))
    (g / "graph-metadata.json").write_text(json.dumps({"graphs": metas}))
    (g / "features" / MODEL).mkdir(parents=True)
    (g / "features" / MODEL / "12.json").write_text(json.dumps({"index": 12, "examples_quantiles": []}))
    return r


def _run(results: Path, out: Path, *extra: str) -> int:
    return publish(["--config", str(results / "no-config.yaml"), "--results", str(results), "--models", MODEL, "--out", str(out), *extra])


def test_dry_run_writes_a_folder_sparsify_and_circuit_tracer_read(results, tmp_path, capsys):
    from sparsify import SparseCoder

    from r1interp.artifacts.transcoder import load_transcoder_set

    out = tmp_path / "release"
    assert _run(results, out, "--dry-run") == 0
    printed = capsys.readouterr().out
    rel = out / MODEL
    files = sorted(p.relative_to(rel).as_posix() for p in rel.rglob("*") if p.is_file())
    assert files == sorted([
        "README.md", "labels.sqlite", "L0/cfg.json", "L0/sae.safetensors", "L1/cfg.json", "L1/sae.safetensors",
        "circuit_tracer/config.yaml", "circuit_tracer/layer_0.safetensors", "circuit_tracer/layer_1.safetensors",
        "graphs/graph-metadata.json", "graphs/p1-think.json", "graphs/p1-answer.json", "graphs/features/tiny/12.json",
    ])
    for f in files:  # every file printed with its size
        assert f"{(rel / f).stat().st_size:,d}  {f}" in printed
    original = SparseCoder.load_from_disk(results / MODEL / "transcoders/L1")
    loaded = SparseCoder.load_from_disk(rel / "L1")
    x = torch.randn(5, 8)
    assert torch.equal(loaded(x).sae_out, original(x).sae_out)
    ts = load_transcoder_set(rel / "circuit_tracer")
    assert len(ts) == 2 and ts.d_transcoder == 16
    card = (rel / "README.md").read_text()
    assert card.startswith("---") and "## Faithfulness" in card and "labels.sqlite" in card and "2 attribution graphs" in card


def test_missing_input_named_and_nothing_written(results, tmp_path, capsys):
    (results / MODEL / "labels.sqlite").unlink()
    out = tmp_path / "release"
    assert _run(results, out, "--dry-run") == 1
    err = capsys.readouterr().err
    assert f"{results / MODEL / 'labels.sqlite'}" in err and not (out / MODEL).exists()


def test_upload_needs_token_from_env(results, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(SystemExit, match="HF_TOKEN is not set"):
        _run(results, tmp_path / "release", "--repo", "org/{model}")
    assert not (tmp_path / "release").exists()


def _server(kind: str, *args: str):
    proc = subprocess.Popen([sys.executable, str(REPO / "tests/publish_servers.py"), kind, *args], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("PORT "), line
    return proc, f"http://127.0.0.1:{int(line.split()[1])}"


def _state(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_state", timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture()
def hub():
    proc, url = _server("hub", "--token", "hf_test_token")
    yield url
    proc.kill(), proc.wait()


@pytest.fixture()
def neuronpedia_server():
    proc, url = _server("neuronpedia", "--api-key", "np_test_key")
    yield url
    proc.kill(), proc.wait()


def test_hub_upload_then_rerun_uploads_nothing(results, tmp_path, hub, monkeypatch, capsys):
    from huggingface_hub import HfApi

    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    out = tmp_path / "release"
    assert _run(results, out, "--repo", "org/{model}-transcoders", "--endpoint", hub) == 0
    assert "13 uploaded, 0 already there" in capsys.readouterr().out
    st = _state(hub)
    local = sorted(p.relative_to(out / MODEL).as_posix() for p in (out / MODEL).rglob("*") if p.is_file())
    assert st["state"]["repos"]["org/tiny-transcoders"] == local
    assert st["state"]["commits"] == 1 and st["state"]["lfs_objects"] >= 5  # weights + sqlite went through LFS
    # the repo's content equals the folder's, as the client sees it
    tree = {f.path: f for f in HfApi(endpoint=hub, token="hf_test_token").list_repo_tree("org/tiny-transcoders", recursive=True)}
    from r1interp.publish.hub import same_content

    assert all(same_content(out / MODEL / p, tree[p]) for p in local)

    n_before = len(st["log"])
    assert _run(results, out, "--repo", "org/{model}-transcoders", "--endpoint", hub) == 0
    assert "0 uploaded, 13 already there" in capsys.readouterr().out
    new = _state(hub)["log"][n_before:]
    assert not [r for r in new if r[0] == "PUT" or "/commit/" in r[1] or "/preupload/" in r[1]], new

    # one changed input → exactly that file is sent again
    con = sqlite3.connect(results / MODEL / "labels.sqlite")
    con.execute("insert into labels values (1, 5, 'plus sign')")
    con.commit(), con.close()
    assert _run(results, out, "--repo", "org/{model}-transcoders", "--endpoint", hub) == 0
    assert "1 uploaded, 12 already there" in capsys.readouterr().out
    assert _state(hub)["state"]["commits"] == 2


def test_hub_rejects_a_wrong_token(results, tmp_path, hub, monkeypatch):
    from huggingface_hub.utils import HfHubHTTPError

    monkeypatch.setenv("HF_TOKEN", "wrong")
    with pytest.raises(HfHubHTTPError, match="401"):
        _run(results, tmp_path / "release", "--repo", "org/{model}", "--endpoint", hub)


def test_neuronpedia_graph_upload_then_rerun_uploads_nothing(results, tmp_path, hub, neuronpedia_server, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    monkeypatch.setenv("NEURONPEDIA_API_KEY", "np_test_key")
    args = ["--repo", "org/{model}", "--endpoint", hub, "--neuronpedia", "--neuronpedia-url", neuronpedia_server,
            "--neuronpedia-model", "r1interp-{model}"]
    assert _run(results, tmp_path / "release", *args) == 0
    assert "neuronpedia r1interp-tiny: 2 uploaded, 0 already there, 0 failed" in capsys.readouterr().out
    st = _state(neuronpedia_server)
    assert st["state"]["graphs"] == ["r1interp-tiny/p1-answer", "r1interp-tiny/p1-think"]
    n_before = len(st["log"])
    assert _run(results, tmp_path / "release", *args) == 0
    assert "2 already there, 0 failed" in capsys.readouterr().out
    new = _state(neuronpedia_server)["log"][n_before:]
    assert [r for r in new if r[0] != "GET"] == [], new
    assert "np_test_key" not in capsys.readouterr().out


@pytest.mark.workflow
def test_dry_run_on_the_toy_results(smoke_workflow, tmp_path, capsys, monkeypatch):
    """The acceptance check: the release folders of the smoke-sized toy run read back by sparsify
    (every layer) and by our circuit-tracer loader, with the card's faithfulness and training tables."""
    import yaml
    from sparsify import SparseCoder

    from r1interp.artifacts.transcoder import load_transcoder_set
    from r1interp.artifacts.transcoder import load_transcoder

    monkeypatch.chdir(smoke_workflow)
    out = tmp_path / "release"
    assert publish(["--configfile", "smoke.yaml", "--dry-run", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    models = yaml.safe_load((smoke_workflow / "config.yaml").read_text())["run"]["models"]
    for model in models:
        rel = out / model
        assert f"{rel}/  (" in printed
        layers = sorted(p.name for p in rel.glob("L*"))
        assert layers and len(layers) == len(list((smoke_workflow / "results" / model / "transcoders").glob("L*")))
        x = torch.randn(4, load_transcoder(rel / "L0").d_in)
        for name in layers:
            sc = SparseCoder.load_from_disk(rel / name)
            ours = load_transcoder(smoke_workflow / "results" / model / "transcoders" / name)
            assert torch.allclose(sc(x).sae_out, ours(x), atol=1e-5)  # same transcoder, same forward
        ts = load_transcoder_set(rel / "circuit_tracer")
        assert len(ts) == len(layers)
        card = (rel / "README.md").read_text()
        assert "## Training configuration" in card and "## Faithfulness" in card and "## Also in this release" in card
        meta = json.loads((rel / "graphs/graph-metadata.json").read_text())["graphs"]
        assert meta and all((rel / "graphs" / f"{g['slug']}.json").is_file() for g in meta)
        assert (rel / "labels.sqlite").stat().st_size > 0 and any((rel / "graphs/features").rglob("*.json"))

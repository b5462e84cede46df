"""Real-shape rehearsal: the real configuration, only sizes shrunk, on local stand-ins of the real pair.

The stand-ins (r1interp.toy.realshape) have the real widths, vocabulary, added-token ids, tied /
untied heads and chat templates, with 2 layers and random weights, and load through ``source: hf``
from local directories. The workflow runs (Snakemake subprocess on a temp copy) data → sweep →
grouped training → evaluation → an attribution graph of one benchmark prompt per model (the base
teacher-forced on the reasoner's sequence through the token map) → motif census. Random weights
cannot write a reasoning trace, so the reasoner's generation of that prompt is scripted (written
by the generation stage's own row builder); everything downstream is the real code path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from conftest import REPO, copy_workflow, run_snakemake

# slow-ish (~5 min on 2 idle cores): every stage at real width; the timeout leaves room for a loaded CI box
pytestmark = [pytest.mark.workflow, pytest.mark.timeout(1500)]

R1, BASE = "r1-distill-qwen-1.5b", "qwen2.5-math-1.5b"
PROMPT = "arith-add"  # "What is 36 + 59?"
SCRIPTED = "Okay, 36 + 59. 36 + 59 = 95.\n</think>\n\nThe answer is \\boxed{95}."

# The real configuration with only sizes shrunk (and CPU dtypes): every other key is the real one.
SHRINK = {
    "run": {"device": "cpu"},
    "data": {"train_tokens": 12000, "eval_tokens": 3000, "eval_fraction": 0.1, "max_new_tokens": 16},
    "generation": {"max_new_tokens": 16, "n_samples": 1},
    "sweep": {"pilot_layers": [0, 1], "grid": {"expansion_factor": [2], "k": [16], "lr": [0.001], "skip_connection": [True]},
              "train_tokens": 2048, "eval_tokens": 256, "eval_batch_size": 4, "validation_tokens": 1024},
    "transcoders": {"train_tokens": 2048, "seq_len": 128, "batch_size": 4, "save_every": 4, "dead_feature_threshold": 1000,
                    "export_dtype": "keep"},
    "evaluate": {"max_tokens": 256, "max_len": 128, "batch_size": 4, "generations": {"n_prompts": 1, "max_new_tokens": 4}},
    # no pruning: with random weights and 4-step transcoders (FVU ~1) the error nodes carry nearly all
    # influence, so the real thresholds would prune every feature node (the toy e2e test checks them)
    "graphs": {"max_feature_nodes": 24, "batch_size": 8, "max_n_logits": 3, "dtype": "float32", "think_count": 1,
               "node_threshold": 1.0, "edge_threshold": 1.0},
}


def corpus_rows(n: int = 160) -> list[dict]:
    """OpenR1-Math-style rows (problem, generations with <think> traces, verification)."""
    from r1interp.core.toy_corpus import generate_corpus

    return [{"uuid": p.id, "problem": p.question, "generations": [f"<think>\n{p.think}\n</think>\n\n{p.answer_text}"],
             "correctness_math_verify": [True], "solution": p.answer_text} for p in generate_corpus(n, seed=0)]


class ScriptedModel(torch.nn.Module):
    """Stands in for ``model.generate`` with a fixed continuation (random weights write no trace)."""

    def __init__(self, continuation: list[int]):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.continuation = continuation

    def generate(self, ids, **_):
        return torch.cat([ids, torch.as_tensor([self.continuation])], dim=1)


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    from r1interp.core.prompt_sets import load_prompt_set
    from r1interp.prompts.generate import generate_all
    from r1interp.toy.realshape import build_pair

    root = tmp_path_factory.mktemp("rehearsal")
    rows = corpus_rows()
    texts = [f"{r['problem']}\n{r['generations'][0]}" for r in rows] + [SCRIPTED, "Please reason step by step, and put your final answer within \\boxed{}."]
    models = build_pair(root / "models", texts, n_layers=2)
    corpus = root / "openr1.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in rows))

    (root / "wf").mkdir()
    wd = copy_workflow(root / "wf")
    (wd / "config").mkdir()
    (wd / "config" / "r1-distill-qwen-1.5b.yaml").write_text((REPO / "config" / "r1-distill-qwen-1.5b.yaml").read_text())
    local = dict(SHRINK)
    local["models"] = {name: {"path": str(path), "dtype": "float32"} for name, path in models.items()}
    local["data"] = dict(SHRINK["data"], hf={"datasets": [{"name": "open-r1/OpenR1-Math-220k", "config": "default", "split": "train",
                                                           "weight": 1.0, "kind": "reasoning"}], "local_files": [str(corpus)]})
    (wd / "local.yaml").write_text(yaml.safe_dump(local))

    # the reasoner's generation of the prompt, built by the generation stage's own code
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(models[R1])
    cfg = yaml.safe_load((REPO / "config" / "r1-distill-qwen-1.5b.yaml").read_text())
    prompt = [p for p in load_prompt_set("benchmark") if p.id == PROMPT]
    scripted = ScriptedModel(tok(SCRIPTED, add_special_tokens=False)["input_ids"] + [tok.eos_token_id])
    gens = generate_all(scripted, tok, prompt, "r1", cfg["data"]["system_prompt"], 64)
    assert gens.think_end.iloc[0] > 0 and bool(gens.correct.iloc[0])
    (wd / "results" / R1).mkdir(parents=True)
    gens.to_parquet(wd / "results" / R1 / "generations.parquet")

    targets = [f"results/{m}/{f}" for m in (R1, BASE) for f in
               ("transcoders/L0/sae.safetensors", "transcoders/L1/sae.safetensors", "eval/L0.json", "eval/L1.json",
                f"graphs/build/{PROMPT}")]
    env_key = os.environ.pop("ANTHROPIC_API_KEY", None)
    try:
        proc = run_snakemake(wd, *targets, "--cores", "2", "--configfile", "config/r1-distill-qwen-1.5b.yaml", "local.yaml",
                             timeout=1400)
    finally:
        if env_key is not None:
            os.environ["ANTHROPIC_API_KEY"] = env_key
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return {"wd": wd, "models": models, "stdout": proc.stdout}


def test_grouped_training_and_evaluation_ran_on_both_models(rehearsal):
    wd = rehearsal["wd"]
    for m in (R1, BASE):
        assert (wd / "results" / m / "transcoders" / "groups" / "G0").is_dir()  # group_size 7: both layers, one job
        for layer in (0, 1):
            cfg = json.loads((wd / "results" / m / "transcoders" / f"L{layer}" / "cfg.json").read_text())
            assert cfg.get("d_in", 1536) == 1536
            ev = json.loads((wd / "results" / m / "eval" / f"L{layer}.json").read_text())
            assert ev  # the layer was evaluated on held-out tokens


def test_replacement_model_logits_equal_the_hf_model(rehearsal):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from r1interp.graphs.adapter import load_replacement_model

    wd = rehearsal["wd"]
    for m in (R1, BASE):
        path = rehearsal["models"][m]
        tok = AutoTokenizer.from_pretrained(path)
        ids = tok.apply_chat_template([{"role": "user", "content": "What is 36 + 59?"}], add_generation_prompt=True,
                                      return_tensors="pt")
        ids = ids["input_ids"] if not torch.is_tensor(ids) else ids
        hf = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        with torch.no_grad():
            hf_logits = hf(ids).logits
        del hf
        model, _ = load_replacement_model(path, wd / "results" / m / "transcoders", dtype="float32", n_ctx=256)
        with torch.no_grad():
            rm_logits = model(ids)
        del model
        assert hf_logits.shape[-1] == 151936
        torch.testing.assert_close(rm_logits, hf_logits, atol=1e-3, rtol=1e-3)


def test_graphs_have_feature_nodes_in_both_layers_and_motifs_count_them(rehearsal):
    wd = rehearsal["wd"]
    for m in (R1, BASE):
        build = wd / "results" / m / "graphs" / "build" / PROMPT
        manifest = json.loads((build / "manifest.json").read_text())
        records = manifest["graphs"] if isinstance(manifest, dict) else manifest
        built = [r for r in records if r.get("file")]
        assert built, manifest
        for rec in built:
            assert rec["n_feature_nodes"] > 0 and sorted(rec["layers_with_features"]) == [0, 1], rec
        graph = build / built[0]["file"]
        threshold = yaml.safe_load((REPO / "config" / "r1-distill-qwen-1.5b.yaml").read_text())["motifs"]["threshold"]
        proc = subprocess.run([sys.executable, "-m", "r1interp.motifs", "census", str(graph), "--threshold-mode", threshold["mode"],
                               "--threshold", str(threshold["value"])], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        census = json.loads(proc.stdout)
        assert "030T" in census and sum(census.values()) > 0, census  # 030T: the feed-forward loop


def test_base_reads_the_reasoner_stream_with_every_special_token_mapped(rehearsal):
    from transformers import AutoTokenizer

    from r1interp.artifacts.tokenmap import read_token_map

    wd = rehearsal["wd"]
    tmap = read_token_map(wd / "results" / BASE / "data" / "tokenmap.json")
    r1_tok = AutoTokenizer.from_pretrained(rehearsal["models"][R1])
    base_tok = AutoTokenizer.from_pretrained(rehearsal["models"][BASE])
    r1_added = set(range(151643, 151665))
    for split in ("train", "eval"):
        src = pd.read_parquet(wd / "results" / R1 / "data" / f"{split}.parquet")
        dst = pd.read_parquet(wd / "results" / BASE / "data" / f"{split}.parquet")
        assert len(src) == len(dst)
        col = "input_ids" if "input_ids" in src.columns else "ids"
        seen = set()
        for a, b in zip(src[col], dst[col]):
            a, b = np.asarray(a), np.asarray(b)
            assert a.shape == b.shape
            np.testing.assert_array_equal(b, tmap.apply(a))
            specials = np.isin(a, list(r1_added))
            seen |= set(a[specials].tolist())
            np.testing.assert_array_equal(a[~specials], b[~specials])  # the shared regular vocabulary is identity
        # every R1 special token in the stream is read as the base's own token of its role
        assert {151646, 151644, 151645, 151648, 151649, 151643} <= seen, seen
        names = {r1_tok.convert_ids_to_tokens(i): base_tok.convert_ids_to_tokens(int(tmap.apply(np.array([i]))[0])) for i in seen}
        assert names["<｜User｜>"] == "<|im_start|>" and names["<｜end▁of▁sentence｜>"] == "<|endoftext|>"
        assert names["<think>"] == names["</think>"] == base_tok.convert_ids_to_tokens(base_tok("\n")["input_ids"][0])

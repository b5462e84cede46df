"""``r1interp.notebook_api`` on its own: which run it opens and how it decodes (the notebook test runs it end to end)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from r1interp import notebook_api as nb


def _finished_model(results, name: str) -> None:
    (results / name / "transcoders" / "L0").mkdir(parents=True)
    (results / name / "transcoders" / "L0" / "sae.safetensors").write_bytes(b"")
    (results / name / "labels.sqlite").write_bytes(b"")


def _checkout(tmp_path, pairs: list[dict]) -> tuple:
    """A config.yaml like the repository's: the real models are declared, ``run.pairs`` is ``pairs``."""
    models = {m: {"path": f"models/{m}"} for m in ("r1-distill-qwen-1.5b", "qwen2.5-math-1.5b")}
    models |= {m: {"path": f"models/{m}"} for pair in pairs for m in pair.values()}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"models": models, "run": {"pairs": pairs}}))
    return tmp_path / "results"


def test_open_run_reads_the_pair_of_run_pairs_not_a_hard_coded_one(tmp_path):
    """A finished real pair next to the toy pair was opened with the toy config's settings."""
    toy = {"reasoner": "toy-reasoner", "base": "toy-base"}
    real = {"reasoner": "r1-distill-qwen-1.5b", "base": "qwen2.5-math-1.5b"}
    results = _checkout(tmp_path, [toy])
    for m in (*toy.values(), *real.values()):
        _finished_model(results, m)
    run = nb.open_run(results, configfiles=[], device="cpu")
    assert (run.reasoner, run.base) == ("toy-reasoner", "toy-base")
    # the real config file makes the real pair the run's pair, with its own settings
    (tmp_path / "real.yaml").write_text(yaml.safe_dump({"models": {m: {"path": m} for m in real.values()}, "run": {"pairs": [real]},
                                                         "graphs": {"dtype": "bfloat16"}}))
    run = nb.open_run(results, configfiles=["real.yaml"], device="cpu")
    assert (run.reasoner, run.base) == (real["reasoner"], real["base"]) and run.config["graphs"]["dtype"] == "bfloat16"


def test_open_run_names_finished_models_outside_run_pairs(tmp_path):
    results = _checkout(tmp_path, [{"reasoner": "toy-reasoner", "base": "toy-base"}])
    for m in ("r1-distill-qwen-1.5b", "qwen2.5-math-1.5b"):
        _finished_model(results, m)
    with pytest.raises(FileNotFoundError, match=r"not in run.pairs.*\['qwen2.5-math-1.5b', 'r1-distill-qwen-1.5b'\].*configfiles"):
        nb.open_run(results, configfiles=[], device="cpu")


def test_answer_decodes_as_the_run_decodes(tiny_model_dir):
    """The notebook's answer was always greedy, whatever ``generation:`` said (the distilled
    reasoner loops under greedy decoding); it must sample as the generation stage does."""
    from r1interp.core.prompt_sets import Prompt
    from r1interp.prompts.generate import generate_all
    from r1interp.prompts.settings import settings_from_config

    config = {"models": {"m": {"path": str(tiny_model_dir), "template": "r1"}}, "data": {},
              "generation": {"temperature": 1.0, "top_p": 1.0, "seed": 5, "max_new_tokens": 12, "n_samples": 4}}
    run = nb.Run(tiny_model_dir, tiny_model_dir, config, "m", "m")
    got = nb.answer(run, "m", "What is 2 + 3?")
    model, tok = nb._hf(run, "m")
    settings = replace(settings_from_config(config), n_samples=1)
    sampled = generate_all(model, tok, [Prompt("notebook", "user", "What is 2 + 3?", "", True)], "r1", None, settings).iloc[0]
    greedy = generate_all(model, tok, [Prompt("notebook", "user", "What is 2 + 3?", "", True)], "r1", None, replace(settings, temperature=0.0)).iloc[0]
    assert got.ids[got.n_prompt:] == [int(t) for t in sampled["output_ids"]]
    assert list(sampled["output_ids"]) != list(greedy["output_ids"])  # the test can tell sampling from greedy
    assert len(nb.answer(run, "m", "What is 2 + 3?", max_new_tokens=3).ids) - got.n_prompt <= 3

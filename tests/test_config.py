"""Config validation: bad keys/values fail before any job runs, naming the key and allowed values."""

from __future__ import annotations

import pytest
import yaml

from conftest import copy_workflow, run_snakemake


def _edit(workdir, mutate):
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    mutate(cfg)
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))


CASES = [
    ("unknown model", lambda c: c["run"].update(models=["toy-reasoner", "toy-bsae"]), ["run.models", "toy-bsae", "toy-base"]),
    ("misspelt key", lambda c: c["data"].update(max_seq_lenn=5), ["max_seq_lenn", "data"]),
    ("bad enum", lambda c: c["run"].update(device="tpu"), ["device", "tpu", "cuda"]),
    ("negative", lambda c: c["toy"]["train"].update(steps=-3), ["steps", "-3"]),
    ("bad pair", lambda c: c["run"]["pairs"][0].update(base="qwen2.5-math-1.5b"), ["run.pairs[0].base", "qwen2.5-math-1.5b"]),
    # a guardrail (r1interp.guardrails; each one has a unit test in test_realrun_guardrails.py)
    ("generation beyond graph context", lambda c: c["generation"].update(max_new_tokens=600), ["graphs.max_context: 512", "generation.max_new_tokens: 600"]),
]


@pytest.mark.parametrize("name,mutate,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_config_fails_before_any_job(tmp_path, name, mutate, expected):
    wd = copy_workflow(tmp_path)
    _edit(wd, mutate)
    proc = run_snakemake(wd, "--cores", "1")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    for fragment in expected:
        assert fragment in out, f"{fragment!r} missing from error:\n{out[-3000:]}"
    assert not (wd / "results").exists(), "a job ran despite the bad config"


def test_check_config_layer_range():
    from r1interp.config import ConfigError, check_config

    cfg = yaml.safe_load(open("config.yaml"))
    cfg.setdefault("sweep", {})["pilot_layers"] = [0, 99]
    with pytest.raises(ConfigError, match=r"sweep.pilot_layers.*99.*0\.\.5"):
        check_config(cfg)


def test_toy_model_path_must_match_builder():
    from r1interp.config import ConfigError, check_config

    cfg = yaml.safe_load(open("config.yaml"))
    cfg["models"]["toy-base"]["path"] = "elsewhere/toy-base"
    with pytest.raises(ConfigError, match="models.toy-base.path"):
        check_config(cfg)


def test_every_schema_fragment_declares_its_draft():
    """Snakemake's validator cannot resolve a $ref'd fragment that does not name its JSON-schema draft."""
    from pathlib import Path

    fragments = sorted(Path("schemas/stages").glob("*.yaml"))
    assert fragments
    for path in fragments:
        assert yaml.safe_load(path.read_text()).get("$schema", "").endswith("2020-12/schema"), path


def test_default_config_is_valid():
    from r1interp.config import schema_errors

    assert schema_errors(yaml.safe_load(open("config.yaml")), "schemas/config.schema.yaml") == []

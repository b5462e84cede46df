"""The `heads:` config section: its schema defaults are the CLIs' defaults (the rules pass only
the keys set in config), config.yaml's section validates, and a bad value is named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from r1interp.config import schema_errors

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "schemas/stages/heads.schema.yaml").read_text())


def _defaults(section: str) -> dict:
    return {k: v["default"] for k, v in SCHEMA["properties"][section]["properties"].items()}


def test_schema_defaults_equal_cli_defaults():
    from r1interp.heads.__main__ import build_parser as heads_parser
    from r1interp.modeldiff.__main__ import build_parser as diff_parser
    from r1interp.patching.__main__ import build_parser as patch_parser

    heads = vars(heads_parser().parse_args(["heads", "--model-path", "m", "--generations", "g", "--out-dir", "o"]))
    assert {k: heads[k] for k in _defaults("heads")} == _defaults("heads")
    patch = vars(patch_parser().parse_args(["run", "--model-path", "m", "--generations", "g", "--out-dir", "o"]))
    assert {k: patch[k] for k in _defaults("patching")} == _defaults("patching")
    residual = vars(diff_parser().parse_args(["residual", "--reasoner-path", "r", "--reasoner-name", "r", "--base-path", "b",
                                              "--base-name", "b", "--shard", "s", "--out-dir", "o"]))
    dictionary = vars(diff_parser().parse_args(["dictionary", "--reasoner-name", "r", "--base-name", "b", "--reasoner-transcoders", "t",
                                                "--base-transcoders", "t", "--out-dir", "o"]))
    expected = _defaults("modeldiff")
    assert expected.pop("use_labels") is False  # a rule-level switch, not a CLI option
    assert {**{k: residual[k] for k in ("max_docs", "max_len", "skip_first_token", "dtype")}, "threshold": dictionary["threshold"]} == expected


def test_config_section_validates_and_bad_values_are_named():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert schema_errors(config, REPO / "schemas/config.schema.yaml") == []
    config["heads"]["patching"]["position_sets"] = ["middle"]
    config["heads"]["modeldiff"]["threshold"] = 1.5
    config["heads"]["heads"]["top_k"] = 0
    errors = " ".join(schema_errors(config, REPO / "schemas/config.schema.yaml"))
    assert "middle" in errors and "1.5" in errors and "top_k" in errors


def test_workflow_helpers():
    from r1interp.heads.workflow import cli_args, control_args, pair_models, think_models

    config = {
        "run": {"models": ["r", "b", "c", "p"], "pairs": [{"reasoner": "r", "base": "b", "control": "c"}, {"reasoner": "p", "base": "b"}]},
        "models": {"r": {"path": "dir/r"}, "b": {"path": "dir/b", "template": "plain"}, "c": {"path": "dir with space/c"}, "p": {"path": "x"}},
        "heads": {"patching": {"position_sets": ["answer", "all"], "allow_length_change": False, "max_pairs": 3}},
    }
    assert think_models(config) == ["r", "c", "p"]
    assert cli_args(config, "patching", ["max_pairs", "position_sets", "allow_length_change", "batch_size"]) == (
        "--max-pairs 3 --position-sets answer all --allow-length-change false"
    )
    assert cli_args(config, "heads", ["top_k"]) == ""
    assert pair_models(config, "r", "b") == ["r", "b", "c"]
    assert control_args(config, "r", "b") == "--control-path 'dir with space/c' --control-name c"
    assert control_args(config, "p", "b") == ""
    with pytest.raises(ValueError, match="no run.pairs entry"):
        pair_models(config, "b", "r")

"""Command-line options built from config dataclasses (r1interp.cliargs): one default per setting.

The rules pass only the keys config sets, so a missing key takes the dataclass default; the
schema's ``default:`` (documentation for config.yaml) must say the same.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pytest
import yaml

from r1interp.cliargs import add_dataclass_args, field_docs, from_args, to_flags
from r1interp.evaluate.config import EvalData, SideBySide
from r1interp.evaluate.table import Targets
from r1interp.prompts.settings import GenerationSettings
from r1interp.sweep.config import PointEval
from r1interp.sweep.pareto import SelectionRule
from r1interp.core.settings import TrainSettings

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas" / "stages"


@dataclass(frozen=True)
class Example:
    """An example section."""

    count: int = 3
    """How many."""
    scale: float | None = None  # none: automatic
    on: bool = True
    path: Path = Path("x")
    name: str = "a"
    layers: tuple[int, ...] = (1, 2)


def parser_for(cls) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="t", exit_on_error=False)
    add_dataclass_args(p, cls)
    return p


def test_defaults_and_help_come_from_the_dataclass():
    p = parser_for(Example)
    assert from_args(Example, p.parse_args([])) == Example()
    help_text = " ".join(p.format_help().split())
    assert "An example section." in help_text
    assert "--count COUNT How many. (default: 3)" in help_text
    assert "--scale SCALE none: automatic (default: none)" in help_text
    assert field_docs(TrainSettings)["seq_len"].startswith("documents are packed")


def test_values_parse_to_their_types_and_bad_ones_name_the_flag(capsys):
    p = parser_for(Example)
    got = from_args(Example, p.parse_args(["--count", "5", "--scale", "none", "--on", "false", "--path", "y/z",
                                           "--layers", "4", "5", "6"]))
    assert got == Example(count=5, scale=None, on=False, path=Path("y/z"), layers=(4, 5, 6))
    assert from_args(Example, p.parse_args(["--scale", "0.5"])).scale == 0.5
    with pytest.raises(argparse.ArgumentError, match="--on"):
        p.parse_args(["--on", "maybe"])
    with pytest.raises(argparse.ArgumentError, match="--count"):
        p.parse_args(["--count", "2.5"])


@pytest.mark.parametrize("cls, values", [
    (TrainSettings, {"expansion_factor": 4, "k": 8, "lr": None, "skip_connection": False, "optimizer": "adam"}),
    (PointEval, {"eval_tokens": 2000, "max_expansion_per_k": 0.5, "keep_weights": True}),
    (SelectionRule, {"rule": "sparsest_under_ce", "ce_target": 0.2}),
    (EvalData, {"max_tokens": 600, "max_len": None}),
    (Targets, {"dead_pct": 5.0}),
    (Example, {"layers": (7,), "on": False, "scale": 1.5}),
])
def test_flags_a_rule_renders_parse_back_to_the_same_settings(cls, values):
    args = parser_for(cls).parse_args(to_flags(cls, values).split())
    assert from_args(cls, args) == cls(**values)


def test_unknown_keys_are_named():
    with pytest.raises(KeyError, match="'warp'"):
        to_flags(TrainSettings, {"warp": 9})


def schema_defaults(schema: dict) -> dict:
    return {k: v["default"] for k, v in schema.get("properties", {}).items() if isinstance(v, dict) and "default" in v}


@pytest.mark.parametrize("schema_file, path, cls", [
    ("sweep.schema.yaml", [], PointEval),
    ("sweep.schema.yaml", ["selection"], SelectionRule),
    ("transcoders.schema.yaml", [], TrainSettings),
    ("generation.schema.yaml", [], GenerationSettings),
    ("evaluate.schema.yaml", [], EvalData),
    ("evaluate.schema.yaml", ["generations"], SideBySide),
    ("evaluate.schema.yaml", ["targets"], Targets),
])
def test_schema_defaults_equal_the_dataclass_defaults(schema_file, path, cls):
    schema = yaml.safe_load((SCHEMAS / schema_file).read_text())
    for key in path:
        schema = schema["properties"][key]
    documented = schema_defaults(schema)
    ours = asdict(cls())
    shared = sorted(set(documented) & set(ours))
    assert shared, f"{schema_file} and {cls.__name__} share no setting"
    assert {k: documented[k] for k in shared} == {k: ours[k] for k in shared}


def test_sweep_point_cli_has_the_one_eval_tokens_default(capsys):
    from r1interp.cli import main

    assert main(["sweep", "point", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"(default: {PointEval().eval_tokens})" in out and PointEval().eval_tokens == 30_000
    assert all(f"--{f.name.replace('_', '-')}" in out for f in fields(PointEval) + fields(TrainSettings))

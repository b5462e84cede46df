"""Helpers that rules/heads.smk calls (kept out of the rules file so that it stays declarative).

Why pass only the keys that config sets: a key absent from config then takes the CLI default,
which equals the schema default (tests/test_heads_config.py), so there is one source of truth.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any


def think_models(config: Mapping[str, Any]) -> list[str]:
    """Run models whose generations open a ``<think>`` trace (template r1): heads and patching apply."""
    return [m for m in config["run"]["models"] if config["models"][m].get("template", "r1") == "r1"]


def cli_args(config: Mapping[str, Any], section: str, keys: Sequence[str]) -> str:
    """``--key-with-dashes value`` for each of ``keys`` set in config ``heads.<section>``."""
    values = (config.get("heads") or {}).get(section) or {}
    parts = []
    for key in keys:
        if key not in values:
            continue
        value = values[key]
        flag = f"--{key.replace('_', '-')}"
        if isinstance(value, bool):
            parts.append(f"{flag} {'true' if value else 'false'}")
        elif isinstance(value, (list, tuple)):
            parts.append(f"{flag} {' '.join(shlex.quote(str(v)) for v in value)}")
        else:
            parts.append(f"{flag} {shlex.quote(str(value))}")
    return " ".join(parts)


def pair_entry(config: Mapping[str, Any], reasoner: str, base: str) -> Mapping[str, str]:
    """The ``run.pairs`` entry for a reasoner/base wildcard pair (with its optional control)."""
    for pair in config["run"].get("pairs", []):
        if pair["reasoner"] == reasoner and pair["base"] == base:
            return pair
    raise ValueError(f"no run.pairs entry with reasoner {reasoner!r} and base {base!r}")


def pair_models(config: Mapping[str, Any], reasoner: str, base: str) -> list[str]:
    pair = pair_entry(config, reasoner, base)
    return [pair[role] for role in ("reasoner", "base", "control") if role in pair]


def control_args(config: Mapping[str, Any], reasoner: str, base: str) -> str:
    """``--control-path P --control-name N`` when the pair has a control model, else ""."""
    pair = pair_entry(config, reasoner, base)
    if "control" not in pair:
        return ""
    name = pair["control"]
    return f"--control-path {shlex.quote(config['models'][name]['path'])} --control-name {shlex.quote(name)}"

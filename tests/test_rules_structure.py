"""Stage = rules file = package: every rules file is named after a stage of ``r1interp``, its rules
run only ``r1interp <that stage> <command>``, and every rule that asks for a GPU is pinned through
the one helper (``gpu_pin`` in rules/common.smk)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from r1interp.cli import STAGES, TOOLS

RULES = Path(__file__).resolve().parents[1] / "rules"


def rule_blocks(text: str) -> dict[str, str]:
    """``rule name:`` (also an indented, anonymous one generated in a loop) → its body: the lines
    indented deeper than the ``rule`` keyword."""
    blocks: dict[str, str] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"(\s*)rule\s*(\w*)\s*:", line)
        if not m:
            continue
        indent, body = len(m.group(1)), []
        for nxt in lines[i + 1:]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            body.append(nxt)
        blocks[m.group(2) or f"line {i + 1}"] = "\n".join(body)
    return blocks


def shell_command(body: str) -> str:
    """The rule's shell string (adjacent literals joined)."""
    part = body.split("shell:", 1)[1]
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', part))


STAGE_FILES = sorted(p for p in RULES.glob("*.smk") if p.stem != "common")


def test_rules_files_are_the_stages():
    assert {p.stem for p in STAGE_FILES} == set(STAGES)
    assert not set(STAGES) & set(TOOLS)


@pytest.mark.parametrize("path", STAGE_FILES, ids=lambda p: p.name)
def test_every_command_is_r1interp_of_its_own_stage(path):
    blocks = rule_blocks(path.read_text())
    assert blocks, f"{path.name} has no rule"
    for name, body in blocks.items():
        if "shell:" not in body:
            continue
        for command in re.split(r"&&|;", shell_command(body)):
            words = shlex.split(command.replace("{params.pin}", ""))
            assert words[:2] == ["r1interp", path.stem], f"{path.name} rule {name}: {command.strip()!r}"


@pytest.mark.parametrize("path", STAGE_FILES, ids=lambda p: p.name)
def test_every_gpu_rule_is_pinned_by_the_helper(path):
    for name, body in rule_blocks(path.read_text()).items():
        resources = body.split("resources:", 1)[1].split("conda:", 1)[0] if "resources:" in body else ""
        gpu = '"gpu"' in resources or "gpu_resources()" in resources
        pinned = re.search(r"^\s+pin=gpu_pin,$", body, re.M) is not None
        assert gpu == pinned, f"{path.name} rule {name}: gpu={gpu} pinned={pinned}"
        if gpu:
            assert shell_command(body).startswith("{params.pin}r1interp "), f"{path.name} rule {name}"
    assert "r1interp cluster pin" not in path.read_text(), "the pin prefix is spelled out only in gpu_pin"


def test_the_pin_helper_prefixes_only_gpu_jobs():
    text = (RULES / "common.smk").read_text()
    source = re.search(r"^def gpu_pin\(.*?(?=^\S)", text, re.S | re.M).group(0)
    namespace: dict = {}
    exec(source, namespace)
    from types import SimpleNamespace

    assert namespace["gpu_pin"](None, SimpleNamespace(gpu=1)) == "r1interp cluster pin --count 1 -- "
    assert namespace["gpu_pin"](None, SimpleNamespace(gpu=0)) == ""

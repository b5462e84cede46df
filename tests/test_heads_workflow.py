"""rules/heads.smk, patching.smk and modeldiff.smk in a temp copy of the workflow: the plan has the four rules with the right
inputs and GPU resources, and every shell command parses with its CLI's own argument parser."""

from __future__ import annotations

import re
import shlex

import pytest

from conftest import copy_workflow, run_snakemake

pytestmark = pytest.mark.workflow

TARGETS = [
    "results/toy-reasoner/heads/heads.parquet",
    "results/toy-reasoner/patching/effects.parquet",
    "results/compare/modeldiff/toy-reasoner__toy-base/residual_diff.parquet",
    "results/compare/modeldiff/toy-reasoner__toy-base/dictionary_match.parquet",
]


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    wf = copy_workflow(tmp_path_factory.mktemp("wf"))
    snakefile = wf / "Snakefile"
    text = snakefile.read_text()
    if 'include: "rules/heads.smk"' not in text:
        snakefile.write_text(text.replace('include: "rules/common.smk"\n', 'include: "rules/common.smk"\ninclude: "rules/heads.smk"\n', 1))
    for model in ("toy-reasoner", "toy-base"):  # stand-ins for the transcoder stage's outputs
        for layer in range(6):
            d = wf / "results" / model / "transcoders" / f"L{layer}"
            d.mkdir(parents=True)
            (d / "cfg.json").write_text("{}")
            (d / "sae.safetensors").write_text("")
    proc = run_snakemake(wf, "-n", "-p", "--cores", "2", *TARGETS)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return wf, proc.stdout


def _commands(out: str, stage: str) -> list[list[str]]:
    cmds = []
    for line in out.splitlines():
        m = re.search(rf"(?:^|\s)r1interp {re.escape(stage)} (.*?) 2> \S+$", line)
        if m:
            cmds.append(shlex.split(m.group(1)))
    return cmds


def test_plan_has_the_four_rules_on_gpu(plan):
    _, plan = plan
    for rule in ("heads", "patching", "modeldiff_residual", "modeldiff_dictionary"):
        block = re.search(rf"^rule {rule}:\n(.*?)(?:\n\n|\Z)", plan, re.S | re.M)
        assert block, f"rule {rule} not planned"
        assert "gpu=1" in block.group(1)
    dictionary = re.search(r"^rule modeldiff_dictionary:\n(.*?)\n\n", plan, re.S | re.M).group(1)
    assert "results/toy-base/transcoders/L5/sae.safetensors" in dictionary


def test_shell_commands_parse_with_the_clis(plan):
    _, plan = plan
    from r1interp.heads.__main__ import build_parser as heads_parser
    from r1interp.modeldiff.__main__ import build_parser as diff_parser
    from r1interp.patching.__main__ import build_parser as patch_parser

    (heads,) = _commands(plan, "heads")
    args = heads_parser().parse_args(heads)
    assert args.out_dir.as_posix() == "results/toy-reasoner/heads" and args.top_k == 20
    (patch,) = _commands(plan, "patching")
    args = patch_parser().parse_args(patch)
    assert args.position_sets == ["reasoning_end", "answer"] and args.allow_length_change is True
    diff = _commands(plan, "modeldiff")
    parsed = {c[0]: diff_parser().parse_args(c) for c in diff}
    assert set(parsed) == {"residual", "dictionary"}
    assert parsed["residual"].shard.as_posix() == "results/toy-reasoner/data/eval.parquet"
    assert parsed["residual"].skip_first_token is True and parsed["residual"].control_path is None
    assert parsed["dictionary"].layers == [0, 1, 2, 3, 4, 5] and parsed["dictionary"].threshold == 0.7


def test_lint_is_clean_with_heads_rules(plan):
    wf, _ = plan
    proc = run_snakemake(wf, "--lint")
    out = proc.stdout + proc.stderr
    for name in ("heads.smk", "patching.smk", "modeldiff.smk"):
        assert name not in out, out[-3000:]

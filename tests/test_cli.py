"""The ``r1interp`` command: every stage listed, help without heavy imports, argv passed through."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

from r1interp.cli import STAGES, TOOLS, main


def test_every_stage_module_is_a_subcommand():
    stages = {p.parent.name for p in (REPO / "src/r1interp").glob("*/__main__.py")} - set(TOOLS)
    assert stages == set(STAGES)


def test_help_lists_everything_without_importing_torch():
    code = "import sys; from r1interp.cli import main; main(['--help']); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(REPO / "src")},
                         timeout=60).stdout
    assert out.strip().endswith("False")
    for name in [*STAGES, *TOOLS]:
        assert f"  {name} " in out


def test_arguments_reach_the_stage(capsys):
    assert main(["motifs", "--help"]) == 0
    assert "profile" in capsys.readouterr().out  # the motif stage's own subcommands
    assert main(["report", "build"]) == 2  # argparse: --models and --out are required
    assert "required" in capsys.readouterr().err
    assert main(["nope"]) == 2

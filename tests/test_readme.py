"""The README's two set-up commands are the ones CI and newcomers run."""

from __future__ import annotations

import re

from conftest import REPO


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_has_main_and_test_commands_and_ci_runs_the_test_command():
    blocks = _bash_blocks((REPO / "README.md").read_text())
    setup = [b for b in blocks if b.startswith("python3 -m venv .venv")]
    assert len(setup) == 2, setup
    main, tests = setup
    assert main.endswith("snakemake --cores 2") and tests.endswith("python -m pytest")
    for cmd in setup:
        assert cmd.index("pip install torch==2.13.0") < cmd.index('pip install -e ".[dev]"')
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert tests in ci, "the CI script must run exactly the README's test command"

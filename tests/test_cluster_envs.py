"""envs/r1interp.yaml (for --software-deployment-method conda) pins what pyproject.toml pins.

Why: a cluster job in the conda env must run the same library versions as the venv the tests ran
in; a pin changed in one place only would make the two silently differ.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _normalise(spec: str) -> tuple[str, str]:
    name, constraint = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec).groups()
    return name.lower().replace("_", "-"), constraint.replace(" ", "")


def test_conda_env_pins_equal_pyproject_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "envs" / "r1interp.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert dict(map(_normalise, pip)) == dict(map(_normalise, project["dependencies"]))
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    minimum = re.search(r">=\s*3\.(\d+)", project["requires-python"]).group(1)
    assert int(python.split("=")[1].split(".")[1]) >= int(minimum)
    assert "pip" in env["dependencies"] and "conda-forge" in env["channels"]


def test_every_rule_that_declares_a_conda_env_points_at_an_existing_file():
    common = (REPO / "rules" / "common.smk").read_text()
    m = re.search(r'^CONDA_ENV\s*=\s*"([^"]+)"', common, flags=re.M)
    assert m, "rules/common.smk defines no CONDA_ENV"
    assert (REPO / "rules" / m.group(1)).resolve() == (REPO / "envs" / "r1interp.yaml").resolve()


def test_job_environment_puts_this_python_and_checkout_first(tmp_path):
    import os
    import sys

    from r1interp.cluster.jobenv import export_job_environment

    env = {"PATH": "/usr/bin", "PYTHONPATH": "/elsewhere"}
    export_job_environment(tmp_path, env)
    export_job_environment(tmp_path, env)  # idempotent
    assert env["PATH"].split(os.pathsep) == [os.path.dirname(sys.executable), "/usr/bin"]
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path / "src"), "/elsewhere"]


def test_jobs_find_the_checkouts_r1interp_launcher_before_any_other(tmp_path):
    """A checkout with bin/r1interp: jobs run it (with the job env's python), even in a conda env
    that lacks the console script; it answers like the console script."""
    import os
    import subprocess
    import sys

    from r1interp.cluster.jobenv import export_job_environment

    env = {"PATH": "/usr/bin"}
    export_job_environment(REPO, env)
    export_job_environment(REPO, env)  # idempotent
    assert env["PATH"].split(os.pathsep) == [str(REPO / "bin"), os.path.dirname(sys.executable), "/usr/bin"]
    proc = subprocess.run(["r1interp", "--help"], env={**env, "PYTHONPATH": str(REPO / "src")},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "costplan" in proc.stdout

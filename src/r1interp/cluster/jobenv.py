"""Make every job run the submitting Python and import this checkout.

Why: SLURM jobs inherit the submitting shell's environment (``--export=ALL``); a job started from
an un-activated shell would otherwise silently run the system ``python`` without r1interp.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def export_job_environment(workflow_dir: str | Path, environ: dict | None = None) -> None:
    """Put this interpreter's bin dir first on PATH, ``<workflow>/bin`` (the jobs' ``r1interp``
    launcher, when the checkout has it) before it, and ``<workflow>/src`` on PYTHONPATH."""
    env = os.environ if environ is None else environ
    launcher = Path(workflow_dir) / "bin"
    first = [*([str(launcher)] if (launcher / "r1interp").is_file() else []), os.path.dirname(sys.executable)]
    path = env.get("PATH", "").split(os.pathsep)
    if path[: len(first)] != first:
        env["PATH"] = os.pathsep.join(first + [p for p in path if p and p not in first])
    src = str(Path(workflow_dir) / "src")
    if src not in env.get("PYTHONPATH", "").split(os.pathsep):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)

"""Make every job run the submitting Python and import this checkout.

Why: SLURM jobs inherit the submitting shell's environment (``--export=ALL``); a job started from
an un-activated shell would otherwise silently run the system ``python`` without r1interp.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def export_job_environment(workflow_dir: str | Path, environ: dict | None = None) -> None:
    """Put this interpreter's bin dir first on PATH and ``<workflow>/src`` on PYTHONPATH."""
    env = os.environ if environ is None else environ
    bin_dir = os.path.dirname(sys.executable)
    if env.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    src = str(Path(workflow_dir) / "src")
    if src not in env.get("PYTHONPATH", "").split(os.pathsep):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)

"""Give each GPU job on one multi-GPU machine its own device(s), then exec the job.

Why: Snakemake's local executor counts a ``gpu`` resource (``--resources gpu=8`` runs at most 8 GPU
jobs at once) but does not say *which* GPU a job gets, so every job would default to device 0. The
rule's command runs under ``python -m r1interp.cluster pin --count {resources.gpu} -- <command>``:
it takes an exclusive ``flock`` on ``<lock_dir>/gpu<id>.lock`` for free devices, sets
``CUDA_VISIBLE_DEVICES`` and ``exec``\\ s the command with the lock file descriptors inherited. The
kernel drops the locks when the job's process exits — however it exits — so no lock goes stale.

It does nothing (runs the command as is) inside a SLURM allocation (SLURM already sets
``CUDA_VISIBLE_DEVICES``) or when no GPU is known (CPU machines, CI).

Devices, first match: ``--devices``; ``$R1_GPU_DEVICES`` ("0,1,2,3"); the ids in an inherited
``$CUDA_VISIBLE_DEVICES`` (a user restricting the box); ``nvidia-smi -L``; none.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

log = logging.getLogger("r1interp.cluster.pin")

DEFAULT_LOCK_DIR = "/tmp/r1interp-gpu-locks"


@dataclass(frozen=True)
class PinSettings:
    """Where devices and locks come from; ``timeout`` None waits forever for a free device."""

    devices: tuple[str, ...] = ()
    lock_dir: Path = Path(DEFAULT_LOCK_DIR)
    count: int = 1
    timeout: float | None = None
    poll: float = 0.2


def parse_devices(text: str | None) -> tuple[str, ...]:
    """``"0,1, 3"`` → ``("0", "1", "3")``; empty / None → ``()``. Ids may be UUIDs (``GPU-…``)."""
    if not text:
        return ()
    out = tuple(part.strip() for part in text.split(",") if part.strip())
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate GPU ids in {text!r}")
    return out


def nvidia_smi_devices() -> tuple[str, ...]:
    """Device indices reported by ``nvidia-smi -L`` (``()`` if it is absent or fails)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return ()
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return ()
    return tuple(str(i) for i, line in enumerate(l for l in out.splitlines() if l.startswith("GPU ")))


def discover_devices(env: Mapping[str, str], explicit: str | None = None) -> tuple[str, ...]:
    """The machine's usable GPU ids, in the order of the module docstring."""
    for text in (explicit, env.get("R1_GPU_DEVICES"), env.get("CUDA_VISIBLE_DEVICES")):
        devices = parse_devices(text)
        if devices:
            return devices
    return nvidia_smi_devices()


def in_scheduler_allocation(env: Mapping[str, str]) -> bool:
    """True inside a SLURM job: the scheduler has already chosen the devices."""
    return bool(env.get("SLURM_JOB_ID"))


def _lock_name(device: str) -> str:
    return "gpu" + "".join(c if c.isalnum() or c in "-_." else "_" for c in device) + ".lock"


def try_lock(lock_dir: Path, device: str) -> int | None:
    """An fd holding an exclusive lock on ``device``'s lock file, or None if another job has it."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_dir / _lock_name(device), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def acquire(settings: PinSettings) -> list[tuple[str, int]]:
    """Lock ``settings.count`` free devices (waiting while all are busy); returns (id, fd) pairs."""
    if settings.count < 1:
        raise ValueError(f"count must be >= 1, got {settings.count}")
    if settings.count > len(settings.devices):
        raise ValueError(
            f"job wants {settings.count} GPU(s) but only {len(settings.devices)} known: {list(settings.devices)}"
        )
    start = time.monotonic()
    next_report = start + 60
    while True:
        held: list[tuple[str, int]] = []
        for device in settings.devices:
            fd = try_lock(settings.lock_dir, device)
            if fd is not None:
                held.append((device, fd))
                if len(held) == settings.count:
                    return held
        for _, fd in held:  # not enough free: give back what we took, so jobs cannot deadlock
            os.close(fd)
        now = time.monotonic()
        if settings.timeout is not None and now - start >= settings.timeout:
            raise TimeoutError(
                f"no {settings.count} free GPU(s) among {list(settings.devices)} after {settings.timeout:.0f}s "
                f"(locks in {settings.lock_dir})"
            )
        if now >= next_report:
            log.info("waiting for %d free GPU(s) among %s", settings.count, list(settings.devices))
            next_report = now + 60
        time.sleep(settings.poll)


def pinned_env(env: Mapping[str, str], devices: Sequence[str]) -> dict[str, str]:
    """``env`` with CUDA_VISIBLE_DEVICES set to ``devices`` (also for ROCm's HIP_VISIBLE_DEVICES)."""
    out = dict(env)
    out["CUDA_VISIBLE_DEVICES"] = ",".join(devices)
    if "HIP_VISIBLE_DEVICES" in env or "ROCR_VISIBLE_DEVICES" in env:
        out["HIP_VISIBLE_DEVICES"] = ",".join(devices)
    return out


def exec_pinned(command: Sequence[str], settings: PinSettings, env: Mapping[str, str]) -> None:
    """Pin and replace this process by ``command`` (never returns on success)."""
    if not command:
        raise ValueError("no command given after --")
    if in_scheduler_allocation(env):
        log.info("inside SLURM job %s: keeping CUDA_VISIBLE_DEVICES=%s", env.get("SLURM_JOB_ID"),
                 env.get("CUDA_VISIBLE_DEVICES", ""))
        os.execvpe(command[0], list(command), dict(env))
    if not settings.devices:
        log.info("no GPU devices known: running without pinning")
        os.execvpe(command[0], list(command), dict(env))
    held = acquire(settings)
    for _, fd in held:
        os.set_inheritable(fd, True)  # the locks live as long as the exec'd job
    devices = [d for d, _ in held]
    log.info("pinned to CUDA_VISIBLE_DEVICES=%s", ",".join(devices))
    os.execvpe(command[0], list(command), pinned_env(env, devices))

"""The doctor's checks: each returns :class:`Check` rows; a ``FAIL`` row blocks the configured run.

Checks are plain functions of the config and of facts passed in (installed versions, devices,
cache lookups), so tests can drive them with the machine's real facts and with edited configs.
Memory and disk figures are *estimates* from the configured sizes (stated in each row).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from r1interp.core.dims import DTYPE_BYTES, ModelDims, dict_dims, dims_from_config, dims_of
from r1interp.core.groups import layer_groups
from r1interp.guardrails import graph_memory, training_memory

OK, WARN, FAIL = "ok", "warn", "FAIL"
GIB = 1024**3
MODEL_DTYPE_BYTES = {**DTYPE_BYTES, "auto": 2}  # model weights: auto is bf16 on a GPU


@dataclass(frozen=True)
class Check:
    area: str
    status: str  # ok | warn | FAIL
    detail: str
    fix: str = ""


# ---------------------------------------------------------------- packages
def package_checks(requirements: list[str], version_of: Callable[[str], str | None]) -> list[Check]:
    """Installed versions against the pins of ``pyproject.toml`` (or the installed metadata)."""
    from packaging.requirements import Requirement

    rows = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None and "extra" in str(req.marker):
            continue
        have = version_of(req.name)
        spec = str(req.specifier) or "any"
        if have is None:
            rows.append(Check(f"package {req.name}", FAIL, f"not installed (needs {spec})", f'pip install "{text}"'))
        elif req.specifier and not req.specifier.contains(have, prereleases=True):
            rows.append(Check(f"package {req.name}", FAIL, f"{have} installed, pin is {spec}", f'pip install "{text}"'))
        else:
            rows.append(Check(f"package {req.name}", OK, f"{have} ({spec})"))
    return rows


def project_requirements(repo: Path | None) -> list[str]:
    if repo is not None and (repo / "pyproject.toml").is_file():
        try:
            import tomllib  # Python >= 3.11
        except ImportError:
            tomllib = None
        if tomllib is not None:
            return tomllib.loads((repo / "pyproject.toml").read_text())["project"]["dependencies"]
    from importlib.metadata import requires

    return [r for r in (requires("r1interp") or []) if "extra ==" not in r]


def installed_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


# ---------------------------------------------------------------- model sizes from the config
@dataclass(frozen=True)
class ModelShape:
    key: str
    source: str
    n_layers: int
    d_model: int
    n_params: int
    dtype_bytes: int
    dims: ModelDims | None = None  # full widths when known (else the Qwen2.5-1.5B shape at n_layers, d_model)

    @property
    def model_dims(self) -> ModelDims:
        return self.dims or ModelDims(n_layers=self.n_layers, d=self.d_model)


REAL_DIMS = {  # fall-back when the model is not in the cache yet (HF config.json values)
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B": ModelDims(),
    "Qwen/Qwen2.5-Math-1.5B": ModelDims(tied=True),
}


def model_shapes(config: dict, cached_config: Callable[[str], dict | None]) -> list[ModelShape]:
    out = []
    for key in config.get("run", {}).get("models", []):
        entry = config.get("models", {}).get(key, {})
        source, path = entry.get("source", "hf"), str(entry.get("path", key))
        dtype = entry.get("dtype", "auto")
        if source == "toy":
            dims = dims_of(config, key)
        elif (cfg := cached_config(path)) is not None:
            dims = dims_from_config(cfg)
        elif path in REAL_DIMS:
            dims = REAL_DIMS[path]
        else:
            continue
        out.append(ModelShape(key, source, dims.n_layers, dims.d, dims.params(), MODEL_DTYPE_BYTES.get(dtype, 4), dims))
    return out


def n_latents(config: dict, d_model: int, results: Path) -> int:
    """Dictionary size: the sweep's selection if it exists, else the largest grid point."""
    return dict_dims(config, d_model, worst_case=True, results=results).n_latents


def transcoder_params(d: int, n: int) -> int:
    return 2 * n * d + d * d + n + d  # W_enc, W_dec, W_skip, biases


# ---------------------------------------------------------------- devices and memory
def device_checks(config: dict, shapes: list[ModelShape], gpus: list[tuple[str, int]], bf16: bool) -> list[Check]:
    rows = []
    want = config.get("run", {}).get("device", "auto")
    needs_gpu = any(s.source != "toy" for s in shapes)
    if gpus:
        names = ", ".join(f"{n} ({m / GIB:.0f} GiB)" for n, m in gpus)
        rows.append(Check("torch device", OK, f"cuda: {len(gpus)} GPU(s): {names}"))
    elif want == "cuda" or needs_gpu:
        why = "run.device is cuda" if want == "cuda" else "the configured models are real (source: hf)"
        rows.append(Check("torch device", FAIL, f"no GPU (torch sees no CUDA device); {why}",
                          "run on a GPU node (snakemake --profile profiles/gpu) or use the toy config"))
    else:
        rows.append(Check("torch device", WARN, "no GPU: CPU only (fine for the toy default)", "a GPU is needed for the real models"))
    graph_dtype = config.get("graphs", {}).get("dtype", "float32")
    uses_bf16 = graph_dtype == "bfloat16" or any(config.get("models", {}).get(s.key, {}).get("dtype") == "bfloat16" for s in shapes)
    if bf16:
        rows.append(Check("bfloat16", OK, "supported on the GPU"))
    elif uses_bf16 and gpus:
        rows.append(Check("bfloat16", FAIL, "configured (graphs.dtype / model dtype) but not supported by this GPU",
                          "set graphs.dtype: float16 or float32"))
    else:
        rows.append(Check("bfloat16", WARN if uses_bf16 else OK,
                          ("no GPU, no CUDA bf16" if not gpus else "not supported by the GPU") + ("" if uses_bf16 else "; not configured")))
    return rows


def memory_checks(config: dict, shapes: list[ModelShape], gpus: list[tuple[str, int]], results: Path) -> list[Check]:
    """Peak GPU memory estimate of the graph and training jobs against the smallest GPU."""
    rows = []
    have = min((m for _, m in gpus), default=0)
    g = config.get("graphs", {})
    t = config.get("transcoders", {})
    for s in shapes:
        dd = dict_dims(config, s.d_model, worst_case=True, results=results)
        n = dd.n_latents
        graph = graph_memory(s.model_dims, dd.n_latents, dd.k, g).gpu_gb * 1e9  # the guardrails' estimates
        group = max(len(x) for x in layer_groups(s.n_layers, int(t.get("group_size", 0))))
        train = training_memory(s.model_dims, n, group, t, s.dtype_bytes).gpu_gb * 1e9
        for what, need, key in (("graph", graph, "graphs.batch_size / max_feature_nodes / lazy_decoder"),
                                ("training", train, "transcoders.group_size / batch_size")):
            detail = f"{s.key}: {what} job needs ~{need / GIB:.1f} GiB (estimate; {n} latents/layer)"
            if not gpus:
                status = FAIL if s.source != "toy" else OK
                rows.append(Check(f"GPU memory ({what})", status, detail + ", no GPU to hold it" if status == FAIL else detail + " on CPU"))
            elif need > have:
                rows.append(Check(f"GPU memory ({what})", FAIL, detail + f" > {have / GIB:.0f} GiB", f"lower {key}"))
            else:
                rows.append(Check(f"GPU memory ({what})", OK, detail + f" ≤ {have / GIB:.0f} GiB"))
    return rows


# ---------------------------------------------------------------- model files, disk
def cached_snapshot(repo_id: str) -> Path | None:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached (several error types)
        return None


def cached_hf_config(path: str) -> dict | None:
    p = Path(path)
    d = p if p.is_dir() else cached_snapshot(path)
    if d is not None and (d / "config.json").is_file():
        return json.loads((d / "config.json").read_text())
    return None


def model_file_checks(config: dict, root: Path, snapshot: Callable[[str], Path | None] = cached_snapshot) -> list[Check]:
    rows = []
    for key in config.get("run", {}).get("models", []):
        entry = config.get("models", {}).get(key)
        if entry is None:
            rows.append(Check(f"model {key}", FAIL, "not in the models registry of the config", "add it under models:"))
            continue
        path = str(entry.get("path", key))
        if entry.get("source") == "toy":
            built = (root / path / "config.json").is_file()
            rows.append(Check(f"model {key}", OK, f"toy model {'built' if built else 'built by the workflow (rules/toy.smk)'} at {path}"))
            continue
        local = Path(path) if Path(path).is_absolute() else root / path
        d = local if local.is_dir() else snapshot(path)
        weights = d is not None and any(d.glob("*.safetensors"))
        if d is not None and (d / "config.json").is_file() and weights:
            rows.append(Check(f"model {key}", OK, f"{path}: in the local cache ({d})"))
        else:
            rows.append(Check(f"model {key}", FAIL, f"{path}: not in the local Hugging Face cache",
                              f"huggingface-cli download {path}"))
    return rows


def planned_output_bytes(config: dict, shapes: list[ModelShape], results: Path) -> int:
    """Transcoder weights (sparsify + circuit-tracer copies + one checkpoint) + feature tables + graphs."""
    total = 0
    n_graphs = 64 if config.get("run", {}).get("prompt_set") == "benchmark" else 16
    for s in shapes:
        n = n_latents(config, s.d_model, results)
        total += 3 * s.n_layers * transcoder_params(s.d_model, n) * 4
        total += s.n_layers * n * 4 * 1024  # features: stats + examples per latent (~4 kB)
        total += n_graphs * 2 * 20 * 2**20  # two phases, ~20 MB per graph JSON
    return total


def disk_check(config: dict, shapes: list[ModelShape], results: Path) -> Check:
    need = planned_output_bytes(config, shapes, results)
    where = results if results.exists() else results.parent if results.parent.exists() else Path(".")
    free = shutil.disk_usage(where).free
    detail = f"~{need / GIB:.1f} GiB planned outputs (estimate), {free / GIB:.1f} GiB free at {where.resolve()}"
    if free < need:
        return Check("disk space", FAIL, detail, "free space or point results/ at a larger disk (symlink)")
    return Check("disk space", OK, detail)


# ---------------------------------------------------------------- secrets, cluster
def api_key_check(env: dict[str, str]) -> Check:
    if env.get("ANTHROPIC_API_KEY"):
        return Check("ANTHROPIC_API_KEY", OK, "set: features are labelled by Claude")
    return Check("ANTHROPIC_API_KEY", WARN, "unset: no labels, features get automatic summaries",
                 "export ANTHROPIC_API_KEY=... (read from the environment only)")


def slurm_checks(config: dict, profile_gpu: bool, which: Callable[[str], str | None] = shutil.which,
                 run: Callable[[list[str]], str | None] | None = None) -> list[Check]:
    """SLURM commands on PATH, and the gpu profile's partition / account (checked with sinfo / sacctmgr)."""
    run = run or _run
    status_missing = FAIL if profile_gpu else WARN
    rows = []
    missing = [c for c in ("sbatch", "squeue", "sinfo", "scancel") if which(c) is None]
    if missing:
        rows.append(Check("SLURM", status_missing, f"not found: {', '.join(missing)}" + ("" if profile_gpu else " (only --profile profiles/gpu needs SLURM)"),
                          "run on a SLURM login node, or use profiles/default / profiles/gpu-local"))
    else:
        rows.append(Check("SLURM", OK, "sbatch, squeue, sinfo, scancel found"))
    res = config.get("resources", {})
    part = (res.get("gpu") or {}).get("slurm_partition", "")
    account = res.get("slurm_account", "")
    if missing:
        rows.append(Check("gpu profile", status_missing if profile_gpu else WARN,
                          f"partition {part or '(cluster default)'}, account {account or '(default)'}: not checked without SLURM"))
        return rows
    parts = run(["sinfo", "-h", "-o", "%P"])
    known = {p.strip().rstrip("*") for p in (parts or "").split()}
    if part and parts is not None and part not in known:
        rows.append(Check("gpu profile partition", FAIL, f"resources.gpu.slurm_partition {part!r} not in sinfo: {sorted(known)}",
                          "set resources.gpu.slurm_partition in config.yaml, or in the last --configfile that sets it "
                          "(a file merged later wins)"))
    else:
        rows.append(Check("gpu profile partition", OK, f"{part or '(cluster default)'}"))
    if account:
        acc = run(["sacctmgr", "-n", "-P", "show", "assoc", f"user={os.environ.get('USER', '')}", "format=account"])
        if acc is not None and account not in acc.split():
            rows.append(Check("gpu profile account", WARN, f"resources.slurm_account {account!r} not among your associations",
                              "check `sacctmgr show assoc user=$USER`"))
        else:
            rows.append(Check("gpu profile account", OK, account))
    else:
        rows.append(Check("gpu profile account", OK, "(cluster default)"))
    return rows


def _run(cmd: list[str]) -> str | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def gpu_facts() -> tuple[list[tuple[str, int]], bool]:
    import torch

    if not torch.cuda.is_available():
        return [], False
    gpus = [(torch.cuda.get_device_name(i), torch.cuda.get_device_properties(i).total_memory) for i in range(torch.cuda.device_count())]
    return gpus, bool(torch.cuda.is_bf16_supported())


def run_checks(config: dict, *, root: Path, results: Path, profile_gpu: bool = False, env: dict[str, str] | None = None) -> list[Check]:
    env = dict(os.environ) if env is None else env
    rows = package_checks(project_requirements(root if (root / "pyproject.toml").is_file() else None), installed_version)
    gpus, bf16 = gpu_facts()
    shapes = model_shapes(config, cached_hf_config)
    rows += device_checks(config, shapes, gpus, bf16)
    rows += memory_checks(config, shapes, gpus, results)
    rows += model_file_checks(config, root)
    rows.append(disk_check(config, shapes, results))
    rows.append(api_key_check(env))
    rows += slurm_checks(config, profile_gpu)
    return rows


def render(rows: list[Check]) -> str:
    head = ("check", "status", "detail", "fix")
    cells = [head] + [(r.area, r.status, r.detail, r.fix) for r in rows]
    w = [max(len(c[i]) for c in cells[:]) for i in range(3)]
    w = [min(x, 60) for x in w[:2]] + [min(w[2], 90)]
    lines = []
    for i, c in enumerate(cells):
        lines.append(f"{c[0]:<{w[0]}}  {c[1]:<{w[1]}}  {c[2]:<{w[2]}}  {c[3]}".rstrip())
        if i == 0:
            lines.append("-" * (sum(w) + 6 + 20))
    n_fail = sum(r.status == FAIL for r in rows)
    n_warn = sum(r.status == WARN for r in rows)
    lines.append("")
    lines.append(f"{n_fail} blocking, {n_warn} warnings" + (": the configured run will not work as is" if n_fail else ""))
    return "\n".join(lines)

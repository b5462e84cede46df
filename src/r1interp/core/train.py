"""Train MLP skip transcoders for a group of layers through eai-sparsify's Python Trainer.

Why these choices:
- hookpoints ``layers.{L}.mlp`` with ``transcode=True``: the transcoder maps the *post-norm MLP
  input* to the *MLP output*. ``layers=[...]`` would train on whole decoder blocks — wrong.
- one model forward per batch trains every layer of the group, and the model stops after the last
  hooked block (:mod:`r1interp.core.early_stop`).
- resumable: sparsify checkpoints every ``save_every`` steps with optimizer state; we write them
  atomically, record the true number of finished batches, and fix the schedule-free optimizer's
  train/eval state on resume (sparsify saves the averaged *x* weights but resumes them as if they
  were the *y* iterate).
- a checkpoint is resumed only if it was made from the same inputs: the fingerprint covers the
  settings, layers, data, and the model — its weight files (name, size, mtime), dtype and device
  type — and the checkpoint's metadata lists every file with its size, so an incomplete one is an
  error naming the file. A checkpoint made with other inputs is discarded with a warning naming
  each input that changed. The checkpoint written after the last batch is marked final: a run
  killed before exporting it exports it as it is on rerun (no second weight conversion).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from r1interp.artifacts.paths import layer_name
from r1interp.artifacts.write import atomic_path
from r1interp.core.early_stop import run_until_layer
from r1interp.core.settings import TrainSettings
from r1interp.models import decoder_layers

log = logging.getLogger(__name__)

RUN_NAME = "run"
META_FILE = "r1interp_checkpoint.json"
MANIFEST_FILE = "manifest.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")


def hookpoint(layer: int) -> str:
    """sparsify hookpoint of layer ``layer``'s MLP (relative to ``model.base_model``)."""
    return f"layers.{layer}.mlp"


def check_hookpoints(model: nn.Module, layers: list[int]) -> None:
    """Fail unless each hookpoint resolves to the MLP inside that layer's decoder block."""
    blocks = decoder_layers(model)
    for layer in layers:
        if not 0 <= layer < len(blocks):
            raise ValueError(f"layer {layer} outside 0..{len(blocks) - 1} of the model")
        try:
            module = model.base_model.get_submodule(hookpoint(layer))
        except AttributeError as e:
            raise ValueError(f"model has no module {hookpoint(layer)!r} under base_model") from e
        if module is not getattr(blocks[layer], "mlp", None):
            raise ValueError(f"hookpoint {hookpoint(layer)!r} is not the MLP of decoder block {layer}")


def _make_trainer_class():
    from schedulefree import ScheduleFreeWrapper
    from sparsify import Trainer

    class ResumableTrainer(Trainer):
        """sparsify Trainer with atomic checkpoints and exact resume."""

        fingerprint: str = ""
        inputs: dict | None = None
        batches_done: int = 0

        def count_batches(self):
            """Count model forwards (= batches) during fit; returns the hook handle."""

            def pre_hook(_module, _args):
                self.batches_done += 1

            return self.model.register_forward_pre_hook(pre_hook)

        def save(self) -> None:
            final = Path(self.cfg.save_dir) / (self.cfg.run_name or RUN_NAME)
            in_loop_step = self.global_step
            with atomic_path(final) as tmp:
                # sparsify saves inside the loop before incrementing global_step, so its state.pt
                # would replay one batch on resume; store the number of batches actually done.
                self.global_step = self.batches_done
                try:
                    self._checkpoint(self.saes, str(tmp), True)
                finally:
                    self.global_step = in_loop_step
                meta = {
                    "fingerprint": self.fingerprint,
                    "inputs": self.inputs,
                    "batches_done": self.batches_done,
                    # sparsify's last save runs after the loop, when global_step has caught up
                    "final": in_loop_step == self.batches_done,
                    "files": checkpoint_files(tmp),
                }
                (tmp / META_FILE).write_text(json.dumps(meta, default=str))
            log.info("checkpoint at batch %d → %s", self.batches_done, final)

        def resume(self, path: Path) -> None:
            self.load_state(str(path))
            self.batches_done = self.global_step
            for opt in self.optimizers:
                if isinstance(opt, ScheduleFreeWrapper):
                    # saved weights are the averaged x; turn them into the y iterate the
                    # optimizer expects in train mode (eval() maps y→x, train() maps x→y).
                    opt.train_mode = False
                    opt.train()

    return ResumableTrainer


class CheckpointError(RuntimeError):
    """A resume checkpoint exists but cannot be loaded; the message names it."""


def build_trainer(model: nn.Module, layers: list[int], dataset, settings: TrainSettings, checkpoint_dir: str | Path):
    """sparsify ``Trainer`` for MLP skip transcoders on ``layers`` (hookpoints checked)."""
    from sparsify import SparseCoderConfig, TrainConfig

    if not layers:
        raise ValueError("no layers to train")
    check_hookpoints(model, layers)
    cfg = TrainConfig(
        SparseCoderConfig(
            activation="topk",
            k=settings.k,
            expansion_factor=settings.expansion_factor,
            transcode=True,
            skip_connection=settings.skip_connection,
        ),
        hookpoints=[hookpoint(layer) for layer in layers],
        batch_size=settings.batch_size,
        optimizer=settings.optimizer,  # type: ignore[arg-type]
        lr=settings.lr,
        auxk_alpha=settings.auxk_alpha,
        dead_feature_threshold=settings.dead_feature_threshold,
        save_every=settings.save_every,
        init_seeds=[settings.seed],
        loss_fn="fvu",
        log_to_wandb=False,
        save_dir=str(checkpoint_dir),
        run_name=RUN_NAME,
    )
    trainer = _make_trainer_class()(cfg, dataset, model)
    expected = [hookpoint(layer) for layer in layers]
    if trainer.cfg.hookpoints != expected:
        raise RuntimeError(f"sparsify resolved hookpoints {trainer.cfg.hookpoints}, expected {expected}")
    return trainer


def checkpoint_files(path: Path) -> dict[str, int]:
    """``{relative path: size}`` of every file of a checkpoint directory (its metadata aside)."""
    return {
        str(f.relative_to(path)): f.stat().st_size for f in sorted(path.rglob("*")) if f.is_file() and f.name != META_FILE
    }


def model_identity(model: nn.Module) -> dict[str, Any]:
    """What of the model changes the trained weights: its weight files (name, size, mtime) — or,
    for a model not loaded from a local directory, its hub id and revision, else a hash of its
    parameters — its dtype and its device type."""
    p = next(model.parameters())
    src = str(getattr(model, "name_or_path", "") or getattr(getattr(model, "config", None), "_name_or_path", "") or "")
    weights: dict[str, Any]
    files = []
    if src and Path(src).is_dir():
        for f in sorted(Path(src).iterdir()):
            if f.is_file() and (f.name.endswith(WEIGHT_SUFFIXES) or f.name.endswith(".index.json")):
                st = f.stat()
                files.append([f.name, st.st_size, st.st_mtime_ns])
    if files:
        weights = {"files": files}
    elif src and not Path(src).exists():
        weights = {"hub_id": src, "revision": getattr(getattr(model, "config", None), "_commit_hash", None)}
    else:  # built in memory (or a directory without weight files): hash the parameters themselves
        h = hashlib.sha256()
        for name, t in sorted(model.state_dict().items()):
            h.update(name.encode())
            h.update(t.detach().to("cpu").contiguous().view(-1).view(torch.uint8).numpy().tobytes())
        weights = {"sha256": h.hexdigest()[:16]}
    return {"model_weights": weights, "model_dtype": str(p.dtype), "model_device": p.device.type}


@dataclass
class Resumable:
    """A checkpoint that matches this run's inputs."""

    path: Path
    meta: dict[str, Any]

    @property
    def final(self) -> bool:
        return bool(self.meta.get("final"))


def _changed(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """Which inputs differ, as ``key: old → new`` (abbreviated)."""
    if not isinstance(old, dict):
        return "unknown (the checkpoint predates recorded inputs)"
    new = json.loads(json.dumps(new, default=str))

    def short(v: Any) -> str:
        t = json.dumps(v, default=str)
        return t if len(t) <= 120 else t[:117] + "..."

    diffs = [f"{k}: {short(old.get(k))} → {short(new.get(k))}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return "; ".join(diffs) or "the fingerprint (same recorded inputs)"


def find_checkpoint(
    checkpoint_dir: Path, fingerprint: str, inputs: dict[str, Any] | None = None, hookpoints: list[str] | None = None
) -> tuple[Resumable | None, str | None]:
    """(last complete checkpoint made from the same inputs or None, why one was discarded or
    None). One made from other inputs is deleted with a warning naming each input that changed.

    Without ``run`` (a kill between :func:`atomic_path`'s two renames), the directories that window
    leaves are read instead: the new checkpoint ``.run.tmp-<pid>`` and the previous ``.run.old-<pid>``;
    the complete one with the most batches wins."""
    main = checkpoint_dir / RUN_NAME
    found: list[Resumable] = []
    for path in [main] if main.is_dir() else [*sorted(checkpoint_dir.glob(f".{RUN_NAME}.tmp-*")), *sorted(checkpoint_dir.glob(f".{RUN_NAME}.old-*"))]:
        meta_path = path / META_FILE
        if not (path / "state.pt").is_file() or not meta_path.is_file():
            continue
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError:
            log.warning("ignoring checkpoint with unreadable %s", meta_path)
            continue
        if meta.get("fingerprint") != fingerprint:
            why = _changed(meta.get("inputs"), inputs or {})
            log.warning("discarding checkpoint %s (batch %s), made with other inputs: %s; training from scratch",
                        path, meta.get("batches_done"), why)
            shutil.rmtree(checkpoint_dir, ignore_errors=True)
            return None, why
        try:
            check_complete(path, meta, hookpoints or [])
        except CheckpointError as e:
            if path == main:
                raise
            log.warning("ignoring partial checkpoint %s: %s", path, e)  # a save cut short: the other may be whole
            continue
        if path != main:
            log.warning("no %s: resuming from %s, left by a kill between two renames", main, path)
        found.append(Resumable(path, meta))
    if not found:
        return None, None
    return max(found, key=lambda r: int(r.meta.get("batches_done") or 0)), None


def check_complete(path: Path, meta: dict[str, Any], hookpoints: list[str]) -> None:
    """Every file the checkpoint's metadata lists (and every file a resume reads) is there with
    its recorded size; else CheckpointError naming the first one that is not."""
    listed: dict[str, int] = meta.get("files") or {}
    required = ["state.pt", "rank_0_state.pt"] + [f"{hp}/{n}" for hp in hookpoints for n in ("cfg.json", "sae.safetensors")]
    for rel in dict.fromkeys([*required, *listed]):
        f = path / rel
        if not f.is_file():
            raise CheckpointError(f"resume checkpoint file {f} is missing; delete {path.parent} to train from scratch")
        if rel in listed and f.stat().st_size != listed[rel]:
            raise CheckpointError(
                f"resume checkpoint file {f} has {f.stat().st_size} bytes, {listed[rel]} when written; "
                f"delete {path.parent} to train from scratch"
            )


def validate_checkpoint(path: Path, hookpoints: list[str]) -> None:
    """Open every file of a resume checkpoint; raise CheckpointError naming the first bad one."""
    from safetensors import safe_open

    def fail(file: Path, why: str) -> None:
        raise CheckpointError(f"resume checkpoint file {file} is unusable ({why}); delete {path.parent} to train from scratch")

    pt_files = [path / "state.pt", *sorted(path.glob("optimizer_*.pt")), *sorted(path.glob("lr_scheduler_*.pt")), *sorted(path.glob("rank_*_state.pt"))]
    for f in pt_files:
        try:
            torch.load(f, map_location="cpu", weights_only=True)
        except Exception as e:  # truncated zip, pickle errors, ...
            fail(f, f"{type(e).__name__}: {e}")
    for hp in hookpoints:
        f = path / hp / "sae.safetensors"
        if not f.is_file():
            fail(f, "missing")
        try:
            with safe_open(str(f), framework="pt", device="cpu") as st:
                for key in st.keys():
                    st.get_tensor(key)
        except Exception as e:
            fail(f, f"{type(e).__name__}: {e}")


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link (no extra disk for GB-sized weights) or copy; atomic at ``dst``."""
    with atomic_path(dst) as tmp:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copy2(src, tmp)
        os.utime(tmp)  # a link shares the source's mtime; the target must look newer than its input


def export_layer_files(src_dir: Path, dst_dir: Path) -> None:
    """Place ``cfg.json`` and ``sae.safetensors`` of one checkpointed layer at ``dst_dir``."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    for name in ("cfg.json", "sae.safetensors"):
        if not (src_dir / name).is_file():
            raise FileNotFoundError(f"trained transcoder file missing: {src_dir / name}")
        _link_or_copy(src_dir / name, dst_dir / name)


def train_group(
    model: nn.Module,
    layers: list[int],
    dataset,
    settings: TrainSettings,
    out_dir: str | Path,
    checkpoint_dir: str | Path,
    data_id: str = "",
) -> dict[str, Any]:
    """Train one transcoder per layer in ``layers`` from shared forward passes.

    Writes ``out_dir/L{layer}/{cfg.json,sae.safetensors}`` (sparsify layout) and
    ``out_dir/manifest.json``; resumes from ``checkpoint_dir`` if a checkpoint made from the same
    inputs exists (exports it as it is when it is final) and removes it when done. Returns the
    manifest.
    """
    layers = sorted(set(int(x) for x in layers))
    check_hookpoints(model, layers)
    out_dir, checkpoint_dir = Path(out_dir), Path(checkpoint_dir)
    hookpoints = [hookpoint(layer) for layer in layers]
    extra = {"layers": layers, "data": data_id, "n_rows": len(dataset), **model_identity(model)}
    fingerprint = settings.fingerprint(**extra)
    inputs = {**asdict(settings), **extra}
    n_steps = len(dataset) // settings.batch_size + (len(dataset) % settings.batch_size > 0)
    t0 = time.perf_counter()
    ckpt, discarded = find_checkpoint(checkpoint_dir, fingerprint, inputs, hookpoints)
    if ckpt is not None:
        validate_checkpoint(ckpt.path, hookpoints)
    exported_final = ckpt is not None and ckpt.final and ckpt.meta.get("batches_done") == n_steps
    if exported_final:
        log.info("layers %s: final checkpoint %s (batch %d) found; exporting it as it is", layers, ckpt.path, n_steps)
        source, resumed_from = ckpt.path, n_steps
    else:
        with run_until_layer(model, max(layers) if layers else 0):
            trainer = build_trainer(model, layers, dataset, settings, checkpoint_dir)
            trainer.fingerprint = fingerprint
            trainer.inputs = inputs
            resumed_from = 0
            if ckpt is not None:
                trainer.resume(ckpt.path)
                resumed_from = trainer.batches_done
                log.info("resuming layers %s from batch %d (%s)", layers, resumed_from, ckpt.path)
            handle = trainer.count_batches()
            try:
                trainer.fit()
            finally:
                handle.remove()
        source = checkpoint_dir / RUN_NAME
    seconds = time.perf_counter() - t0

    with atomic_path(out_dir) as tmp_out:
        for layer in layers:
            export_layer_files(source / hookpoint(layer), tmp_out / layer_name(layer))
        manifest = {
            "layers": layers,
            "hookpoints": hookpoints,
            "settings": asdict(settings),
            "n_rows": len(dataset),
            "seq_len": int(dataset[0]["input_ids"].shape[-1]),
            "tokens": int(len(dataset) * dataset[0]["input_ids"].shape[-1]),
            "steps": n_steps,
            "resumed_from_batch": resumed_from,
            "exported_final_checkpoint": exported_final,
            "discarded_checkpoint": discarded,
            "seconds": round(seconds, 3),
            "device": str(next(model.parameters()).device),
            "model_dtype": str(next(model.parameters()).dtype),
            "model_weights": extra["model_weights"],
            "fingerprint": fingerprint,
        }
        (tmp_out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str))
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return manifest

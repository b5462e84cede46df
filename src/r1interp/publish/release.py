"""Build one model's release folder, laid out exactly as its Hugging Face repo will be.

Layout (``<out>/<model>/``)::

    README.md                     model card (faithfulness table, training config) + release notes
    L{layer}/cfg.json, sae.safetensors   sparsify layout, one dir per layer (SparseCoder.load_from_disk)
    circuit_tracer/config.yaml, layer_{i}.safetensors   circuit-tracer layout (load_transcoder_set)
    labels.sqlite                 feature labels / automatic summaries
    graphs/graph-metadata.json, graphs/{graph_id}.json, graphs/features/{model}/{id}.json

Why a folder first: ``--dry-run`` shows a user the exact bytes the upload would send, and the
upload is a plain sync of that folder. Files are hard-linked where possible (weights are large).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from r1interp.artifacts.graphs import graph_metadata
from r1interp.artifacts.paths import ModelPaths, layer_name
from r1interp.artifacts.transcoder import CFG_FILE, CT_CONFIG_FILE, WEIGHTS_FILE
from r1interp.artifacts.write import atomic_path

CARD = "README.md"


class ReleaseError(ValueError):
    """A file the release needs is missing (named in the message)."""


@dataclass(frozen=True)
class ReleaseFile:
    path: str  # relative to the release folder, posix
    size: int


def _layer_dirs(transcoders: Path) -> list[Path]:
    dirs = sorted((d for d in transcoders.glob("L*") if d.name[1:].isdigit()), key=lambda d: int(d.name[1:]))
    if not dirs:
        raise ReleaseError(f"no per-layer transcoders (L{{layer}}/) under {transcoders}")
    expected = [layer_name(i) for i in range(len(dirs))]
    if [d.name for d in dirs] != expected:
        raise ReleaseError(f"{transcoders}: layers {[d.name for d in dirs]} are not 0..{len(dirs) - 1}")
    return dirs


def plan_release(results: str | Path, model: str) -> dict[str, Path]:
    """``{path in release: source file}``; checks every required file before anything is copied."""
    paths = ModelPaths.of(results, model)
    plan: dict[str, Path] = {}
    for d in _layer_dirs(paths.transcoders):
        for name in (CFG_FILE, WEIGHTS_FILE):
            plan[f"{d.name}/{name}"] = d / name
    ct = paths.circuit_tracer
    plan[f"circuit_tracer/{CT_CONFIG_FILE}"] = ct / CT_CONFIG_FILE
    for f in sorted(ct.glob("layer_*.safetensors")):
        plan[f"circuit_tracer/{f.name}"] = f
    plan[CARD] = paths.card
    plan["labels.sqlite"] = paths.labels_db
    graphs = paths.graphs
    meta = paths.graph_metadata
    plan["graphs/graph-metadata.json"] = meta
    if meta.is_file():
        for g in graph_metadata(graphs):
            plan[f"graphs/{g['slug']}.json"] = graphs / f"{g['slug']}.json"
        for f in sorted((graphs / "features").rglob("*.json")):
            plan[f"graphs/{f.relative_to(graphs).as_posix()}"] = f
    missing = [str(src) for src in plan.values() if not src.is_file()]
    if missing:
        raise ReleaseError(f"{model}: release files missing (run the workflow first): {', '.join(missing[:10])}"
                           + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""))
    return plan


def release_notes(model: str, n_layers: int, n_graphs: int, repo_id: str | None) -> str:
    """Appended to the model card: what else the release holds and how to open it."""
    repo = repo_id or "<repo>"
    return f"""
## Also in this release

- `labels.sqlite` — one row per feature (layer, feature index): the Claude label with its detection /
  fuzzing scores, or an automatic non-LLM summary (`[auto] ...`) when no label was made.
- `graphs/` — {n_graphs} attribution graphs of `{model}` (circuit-tracer JSON, `graph-metadata.json`,
  per-feature files under `graphs/features/`). View them offline with
  `circuit-tracer start-server --graph_file_dir graphs` or the r1interp report's graph pages.

```python
from huggingface_hub import snapshot_download
path = snapshot_download("{repo}")   # then SparseCoder.load_from_disk(f"{{path}}/L0"), ... L{n_layers - 1}
```
"""


def _place(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def build_release(results: str | Path, model: str, out_dir: str | Path, repo_id: str | None = None) -> list[ReleaseFile]:
    """Write ``out_dir`` (replacing it as a whole, so no stale file survives); returns its files."""
    plan = plan_release(results, model)
    out_dir = Path(out_dir)
    with atomic_path(out_dir) as tmp:
        for rel, src in plan.items():
            if rel == CARD:
                n_layers = sum(1 for k in plan if k.endswith("/sae.safetensors"))
                n_graphs = sum(1 for k in plan if k.startswith("graphs/") and k.count("/") == 1 and k != "graphs/graph-metadata.json")
                (tmp / CARD).parent.mkdir(parents=True, exist_ok=True)
                (tmp / CARD).write_text(src.read_text() + release_notes(model, n_layers, n_graphs, repo_id))
            else:
                _place(src, tmp / rel)
    return list_files(out_dir)


def list_files(folder: str | Path) -> list[ReleaseFile]:
    folder = Path(folder)
    return [ReleaseFile(p.relative_to(folder).as_posix(), p.stat().st_size) for p in sorted(folder.rglob("*")) if p.is_file()]


def human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)

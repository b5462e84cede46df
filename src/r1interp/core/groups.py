"""Layer → training-group mapping (pure; used by the Snakemake rules and the CLI).

Why groups: one model forward per batch trains every transcoder of a group, so bigger groups
save model compute; smaller groups give finer rebuilds and more parallel jobs. ``group_size: 1``
makes each group exactly one layer; ``0`` puts every layer in one group.
"""

from __future__ import annotations

from r1interp.artifacts.paths import layer_name


def layer_groups(n_layers: int, group_size: int) -> list[list[int]]:
    """Consecutive layers in groups of ``group_size`` (0 = all layers in one group)."""
    if n_layers < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}")
    if group_size < 0:
        raise ValueError(f"group_size must be >= 0, got {group_size}")
    size = n_layers if group_size == 0 else group_size
    return [list(range(start, min(start + size, n_layers))) for start in range(0, n_layers, size)]


def group_of(layer: int, n_layers: int, group_size: int) -> int:
    """Index of the group that trains ``layer``."""
    for g, members in enumerate(layer_groups(n_layers, group_size)):
        if layer in members:
            return g
    raise ValueError(f"layer {layer} outside 0..{n_layers - 1}")


def trained_alone(requested: list[int] | None, existing_dirs: list[str]) -> set[int]:
    """Layers trained alone: the ones requested now (``transcoders.retrain_alone``) and the ones
    retrained alone before (``alone/L{n}`` directories on disk), so a plain run after a one-layer
    retrain keeps its weights instead of re-linking the group's."""
    done = {int(name[1:]) for name in existing_dirs if name.startswith("L") and name[1:].isdigit()}
    return {int(x) for x in (requested or [])} | done


def layer_source(layer: int, n_layers: int, group_size: int, alone: set[int]) -> tuple[str, int]:
    """Where ``layer``'s weights come from: ``("alone", layer)`` or ``("group", g)``."""
    if layer in alone:
        if not 0 <= layer < n_layers:
            raise ValueError(f"layer {layer} outside 0..{n_layers - 1}")
        return "alone", layer
    return "group", group_of(layer, n_layers, group_size)


def layer_weights_dir(model: str, layer: int, n_layers: int, group_size: int, requested: list[int] | None,
                      root: str = "results") -> str:
    """The directory ``transcoder_layer`` links ``layer`` from: ``alone/L{n}`` (requested now or on
    disk from an earlier one-layer retrain) or the layer's group directory ``groups/G{g}``."""
    from pathlib import Path

    alone_dir = Path(root) / model / "transcoders" / "alone"
    existing = [p.name for p in alone_dir.iterdir() if p.is_dir()] if alone_dir.is_dir() else []
    kind, index = layer_source(layer, n_layers, group_size, trained_alone(requested, existing))
    return f"{root}/{model}/transcoders/" + (f"alone/{layer_name(index)}" if kind == "alone" else f"groups/G{index}")


def parse_layers(text: str) -> list[int]:
    """``"0,1,2"`` or ``"0-2"`` → ``[0, 1, 2]`` (CLI helper)."""
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    if not out:
        raise ValueError(f"no layers in {text!r}")
    return sorted(set(out))

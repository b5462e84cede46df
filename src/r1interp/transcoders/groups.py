"""Layer → training-group mapping (pure; used by the Snakemake rules and the CLI).

Why groups: one model forward per batch trains every transcoder of a group, so bigger groups
save model compute; smaller groups give finer rebuilds and more parallel jobs. ``group_size: 1``
makes each group exactly one layer; ``0`` puts every layer in one group.
"""

from __future__ import annotations


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

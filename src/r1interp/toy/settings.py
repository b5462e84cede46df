"""Per-model training settings of the toy pair, read at workflow parse time (so: no torch here)."""

from __future__ import annotations


def train_settings(train: dict, seed: int, fine_tune: bool) -> dict:
    """``ToyTrainConfig`` fields of one toy model from the config's ``toy.train`` mapping.

    Why two step counts: the base (trained from scratch) only has to learn the corpus's language and
    its loss flattens early, while the reasoner, fine-tuned from it (``init_from``), needs all of
    ``steps`` before it closes its traces with correct answers. ``pretrain_fraction`` (default 1)
    scales the from-scratch model's steps; a fraction rather than a count, so an overlay that only
    shrinks ``steps`` (the smoke configs) shrinks both models.
    """
    out = {k: v for k, v in train.items() if k != "pretrain_fraction"}
    fraction = train.get("pretrain_fraction")
    if not fine_tune and fraction is not None:
        if not 0 < fraction <= 1:
            raise ValueError(f"toy.train.pretrain_fraction: {fraction} is not in (0, 1]")
        out["steps"] = max(1, round(int(train["steps"]) * fraction))
    return {**out, "seed": seed}

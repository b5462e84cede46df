"""The toy pair's per-model training settings (config ``toy.train``), as the workflow builds them."""

from pathlib import Path

import pytest
import yaml

from r1interp.toy.model import ToyTrainConfig
from r1interp.toy.settings import train_settings


def test_base_runs_its_fraction_and_reasoner_all_steps():
    train = {"steps": 1000, "pretrain_fraction": 0.4, "batch_size": 32, "lr": 0.004}
    base, reasoner = train_settings(train, 7, fine_tune=False), train_settings(train, 7, fine_tune=True)
    assert base["steps"] == 400 and reasoner["steps"] == 1000
    assert base["seed"] == reasoner["seed"] == 7
    ToyTrainConfig(**base), ToyTrainConfig(**reasoner)  # no key the trainer does not know


def test_overlay_that_shrinks_steps_shrinks_both():
    train = {"steps": 20, "pretrain_fraction": 0.4}
    assert train_settings(train, 0, fine_tune=False)["steps"] == 8
    assert train_settings({"steps": 1, "pretrain_fraction": 0.4}, 0, fine_tune=False)["steps"] == 1
    assert train_settings({"steps": 20}, 0, fine_tune=False)["steps"] == 20  # absent: both the same


def test_bad_fraction_is_named():
    with pytest.raises(ValueError, match="pretrain_fraction: 1.5"):
        train_settings({"steps": 20, "pretrain_fraction": 1.5}, 0, fine_tune=False)


def test_default_config_trains_the_base_for_fewer_steps():
    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    train = cfg["toy"]["train"]
    assert train_settings(train, 0, fine_tune=False)["steps"] < train_settings(train, 0, fine_tune=True)["steps"]

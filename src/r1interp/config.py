"""Config checks that a JSON schema cannot express, run at workflow start before any job.

Why: a typo in a model name or a layer out of range must fail in a second with a message naming
the key and the allowed values, not after an hour of training.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A config value is wrong; the message names the key and what is allowed."""


def toy_model_path(key: str) -> str:
    return f"results/toy/models/{key}"


def model_n_layers(config: dict, model: str) -> int | None:
    """Layer count from the model's own config (toy: the toy section; HF: config.json, cached)."""
    entry = config["models"][model]
    if entry["source"] == "toy":
        return int(config["toy"]["model"]["num_hidden_layers"])
    from r1interp.core.dims import read_model_config

    cfg = read_model_config(entry["path"], entry.get("revision"))  # local dir or HF cache; never the hub
    if cfg is None:  # the model stage will fail with the loader's message
        log.warning("cannot read the config of %s (%s): not a local directory and not in the HF cache", model, entry["path"])
        return None
    return int(cfg.num_hidden_layers)


def _check_layers(key: str, layers: Any, n_layers: int | None, model: str) -> None:
    if n_layers is None or layers in (None, "auto", "all"):
        return
    bad = [layer for layer in layers if not 0 <= int(layer) < n_layers]
    if bad:
        raise ConfigError(f"{key}: layers {bad} out of range for model {model!r}; allowed: 0..{n_layers - 1}")


def check_config(config: dict) -> dict[str, int | None]:
    """Cross-key checks; returns ``{model: n_layers}`` for the models of this run."""
    registry = config["models"]
    run_models = config["run"]["models"]
    unknown = [m for m in run_models if m not in registry]
    if unknown:
        raise ConfigError(f"run.models: unknown model(s) {unknown}; allowed (keys of `models`): {sorted(registry)}")
    bases: dict[str, int] = {}
    for i, pair in enumerate(config["run"].get("pairs", [])):
        for role in ("reasoner", "base", "control"):
            name = pair.get(role)
            if name is not None and name not in run_models:
                raise ConfigError(f"run.pairs[{i}].{role}: {name!r} is not in run.models; allowed: {run_models}")
        if pair["base"] in bases:
            raise ConfigError(f"run.pairs[{i}].base: {pair['base']!r} is already the base of run.pairs[{bases[pair['base']]}]; "
                              "a base reads exactly one reasoner's token stream")
        if pair["base"] == pair["reasoner"]:
            raise ConfigError(f"run.pairs[{i}]: reasoner and base are both {pair['base']!r}")
        bases[pair["base"]] = i
    for key, entry in registry.items():
        if entry["source"] == "toy" and entry["path"] != toy_model_path(key):
            raise ConfigError(f"models.{key}.path: toy models are built at {toy_model_path(key)!r}, got {entry['path']!r}")
        parent = entry.get("init_from")
        if parent is not None:
            if entry["source"] != "toy" or parent not in registry or registry[parent]["source"] != "toy" or parent == key:
                toy_keys = sorted(k for k, e in registry.items() if e["source"] == "toy" and k != key)
                raise ConfigError(f"models.{key}.init_from: {parent!r} must be another toy model; allowed: {toy_keys}")
    n_layers = {m: model_n_layers(config, m) for m in run_models}
    sweep = config.get("sweep", {})
    sweep_model = sweep.get("model")
    if sweep_model and sweep_model not in run_models:
        raise ConfigError(f"sweep.model: {sweep_model!r} is not in run.models; allowed: {run_models}")
    if "pilot_layers" in sweep:
        target = sweep_model or run_models[0]
        _check_layers("sweep.pilot_layers", sweep["pilot_layers"], n_layers[target], target)
    layers = config.get("transcoders", {}).get("layers")
    for m in run_models:
        _check_layers("transcoders.layers", layers, n_layers[m], m)
    retrain = config.get("transcoders", {}).get("retrain_alone") or {}
    for m in retrain:  # `--config` gives digit strings; the rules want layer numbers
        retrain[m] = sorted({int(x) for x in retrain[m]})
    for m, alone in retrain.items():
        if m not in run_models:
            raise ConfigError(f"transcoders.retrain_alone: {m!r} is not in run.models; allowed: {run_models}")
        _check_layers(f"transcoders.retrain_alone.{m}", alone, n_layers[m], m)
    from r1interp.guardrails import check_guardrails  # settings that cannot work together

    check_guardrails(config)
    return n_layers


def merge_config(base: dict, override: dict) -> dict:
    """``override`` merged over ``base`` the way Snakemake merges ``--configfile`` over config.yaml:
    mappings key by key (recursively), everything else (lists, scalars) replaced. Returns a new dict."""
    import copy

    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(*paths: str | Path) -> dict:
    """config.yaml followed by each ``--configfile``, merged as Snakemake does.

    The first (config.yaml) may be absent when others follow: an explicit ``--configfile`` may stand
    alone. A missing or invalid file stops with a message naming it.
    """
    import yaml

    config: dict = {}
    for i, path in enumerate(paths):
        p = Path(path)
        if not p.is_file():
            if i == 0 and len(paths) > 1:
                continue
            raise SystemExit(f"config file not found: {p}")
        try:
            config = merge_config(config, yaml.safe_load(p.read_text()) or {})
        except yaml.YAMLError as e:
            raise SystemExit(f"{p}: not valid YAML: {e}") from e
    return config


def schema_errors(config: dict, schema_path: str | Path) -> list[str]:
    """Every schema violation as ``dotted.key: message`` (jsonschema stops at none; we list all).

    Why in addition to ``snakemake.utils.validate``: Snakemake reports only the first error, in
    jsonschema's nested notation; a user fixing a config wants all of them, by key.
    """
    import yaml
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    schema_path = Path(schema_path)
    root = yaml.safe_load(schema_path.read_text())

    fragments = {}
    for prop in root.get("properties", {}).values():
        ref = prop.get("$ref") if isinstance(prop, dict) else None
        if ref:
            frag_path = schema_path.parent / ref.split("#")[0]
            try:
                fragments[ref] = yaml.safe_load(frag_path.read_text())
            except (OSError, yaml.YAMLError) as e:
                raise ConfigError(f"schema fragment {frag_path} cannot be read: {e}") from e

    def retrieve(uri: str) -> Resource:
        return Resource.from_contents(fragments[uri], default_specification=DRAFT202012)

    validator = Draft202012Validator(root, registry=Registry(retrieve=retrieve))
    messages = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        key = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        msg = err.message
        if err.validator == "enum":
            msg = f"{err.instance!r} is not allowed; allowed values: {err.validator_value}"
        elif err.validator == "additionalProperties":
            allowed = sorted(err.schema.get("properties", {}))
            msg = f"{msg}; allowed keys: {allowed}" if allowed else msg
        messages.append(f"{key}: {msg}")
    return messages

"""Per-rule-class cluster resources from config.yaml's ``resources:`` section.

Why a rule *class* and not per-rule numbers in every rules file: a user moving to another cluster
edits one place (partition, account, GPU model, memory) and every GPU rule (training, activation
collection, attribution graphs) follows. The names are the ones snakemake-executor-plugin-slurm 2.x
maps to sbatch: ``gpu`` (+ ``gpu_model``) → ``--gpus``, ``runtime`` (minutes) → ``-t``, ``mem_mb`` →
``--mem``, ``cpus_per_gpu`` → ``--cpus-per-gpu``, ``slurm_partition`` → ``-p``, ``slurm_account`` →
``-A``; the local executor only counts ``gpu`` (against ``--resources gpu=N``).

Retries (``--retries`` in the profiles) request more: attempt ``n`` gets ``base * factor**(n-1)``
host memory and runtime, rounded up, so a host out-of-memory or timeout kill is not repeated
verbatim. GPU memory does not grow (the same card is asked for): a CUDA out-of-memory error repeats,
which is why the guardrails size graph and training batches against the card before any job runs.

In a rules file (see :func:`snakemake_resources`; the helpers are defined in rules/common.smk)::

    resources: **gpu_resources()      # or **cpu_resources()
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable, Mapping

RULE_CLASSES = ("gpu", "cpu")
SCALED_KEYS = ("mem_mb", "runtime")  # grow with the retry attempt
INT_KEYS = ("gpu", "cpus_per_gpu", "mem_mb", "runtime")
STR_KEYS = ("gpu_model", "slurm_partition", "slurm_extra")
CLASS_KEYS = {
    "gpu": ("gpu", "gpu_model", "cpus_per_gpu", "mem_mb", "runtime", "slurm_partition", "slurm_extra"),
    "cpu": ("mem_mb", "runtime", "slurm_partition", "slurm_extra"),
}


@dataclass(frozen=True)
class ClassResources:
    """What one job of a rule class asks for on its first attempt ("" = leave to the cluster)."""

    mem_mb: int
    runtime: int  # minutes
    slurm_partition: str = ""
    slurm_extra: str = ""
    gpu: int = 0
    gpu_model: str = ""
    cpus_per_gpu: int = 0


@dataclass(frozen=True)
class RetryScaling:
    """Per-attempt growth factors (>= 1) for memory and runtime."""

    mem_mb: float = 1.5
    runtime: float = 2.0


@dataclass(frozen=True)
class ResourceSettings:
    """config ``resources:``; defaults equal schemas/stages/resources.schema.yaml's (a test checks)."""

    slurm_account: str = ""
    gpu: ClassResources = field(
        default_factory=lambda: ClassResources(
            gpu=1, gpu_model="", cpus_per_gpu=8, mem_mb=48000, runtime=360, slurm_partition="gpu"
        )
    )
    cpu: ClassResources = field(
        default_factory=lambda: ClassResources(mem_mb=8000, runtime=120, slurm_partition="")
    )
    retry_scaling: RetryScaling = field(default_factory=RetryScaling)
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "ResourceSettings":
        """Read ``config["resources"]`` (absent keys take the defaults); fail naming the bad key."""
        section = config.get("resources") or {}
        if not isinstance(section, Mapping):
            raise ValueError(f"config resources: must be a mapping, got {type(section).__name__}")
        unknown = set(section) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"config resources: unknown key(s) {sorted(unknown)}")
        base = cls()
        account = section.get("slurm_account", base.slurm_account)
        if not isinstance(account, (str, int)) or isinstance(account, bool):
            raise ValueError(f"config resources.slurm_account: must be a string, got {account!r}")
        gpu = _class_from(section.get("gpu"), base.gpu, "gpu")
        cpu = _class_from(section.get("cpu"), base.cpu, "cpu")
        scaling = section.get("retry_scaling") or {}
        for key, value in scaling.items():
            if key not in SCALED_KEYS:
                raise ValueError(f"config resources.retry_scaling.{key}: unknown key (allowed: {SCALED_KEYS})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1:
                raise ValueError(f"config resources.retry_scaling.{key}: must be a number >= 1, got {value!r}")
        rules = section.get("rules") or {}
        if not isinstance(rules, Mapping):
            raise ValueError("config resources.rules: must be a mapping rule name -> resources")
        for rule, override in rules.items():
            if not isinstance(override, Mapping):
                raise ValueError(f"config resources.rules.{rule}: must be a mapping, got {override!r}")
            for key, value in override.items():
                _check_value(f"resources.rules.{rule}.{key}", key, value, CLASS_KEYS["gpu"])
        return cls(
            slurm_account=str(account),
            gpu=gpu,
            cpu=cpu,
            retry_scaling=replace(base.retry_scaling, **scaling),
            rules={str(k): dict(v) for k, v in rules.items()},
        )


def _check_value(where: str, key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if key not in allowed:
        raise ValueError(f"config {where}: unknown resource (allowed: {', '.join(allowed)})")
    if key in INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "gpu" else 1):
            raise ValueError(f"config {where}: must be a positive integer, got {value!r}")
    elif not isinstance(value, str) or value != value.strip() or value[:1] in ("'", '"'):
        raise ValueError(f"config {where}: must be a plain string, got {value!r}")


def _class_from(raw: Any, base: ClassResources, name: str) -> ClassResources:
    if raw is None:
        return base
    if not isinstance(raw, Mapping):
        raise ValueError(f"config resources.{name}: must be a mapping, got {raw!r}")
    for key, value in raw.items():
        _check_value(f"resources.{name}.{key}", key, value, CLASS_KEYS[name])
    return replace(base, **raw)


def rule_resources(
    config: Mapping[str, Any], rule_class: str, attempt: int = 1, rule: str | None = None
) -> dict[str, int | str]:
    """Resources for one job of ``rule_class`` ("gpu" | "cpu") on retry ``attempt`` (1-based).

    Keys whose value is "" are left out, so the cluster's own default (partition, account, GPU
    type) applies. ``config["resources"]["rules"][rule]`` overrides single keys of one rule.
    """
    if rule_class not in RULE_CLASSES:
        raise ValueError(f"rule_class must be one of {RULE_CLASSES}, got {rule_class!r}")
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise ValueError(f"attempt must be an integer >= 1, got {attempt!r}")
    settings = ResourceSettings.from_config(config)
    values = asdict(getattr(settings, rule_class))
    values = {k: values[k] for k in CLASS_KEYS[rule_class]}
    if rule is not None:
        values.update(settings.rules.get(rule, {}))
    if settings.slurm_account:
        values["slurm_account"] = settings.slurm_account
    for key in SCALED_KEYS:
        factor = getattr(settings.retry_scaling, key)
        values[key] = int(math.ceil(values[key] * factor ** (attempt - 1) - 1e-9))
    return {k: v for k, v in values.items() if v != ""}


def snakemake_resources(
    config: Mapping[str, Any], rule_class: str, rule: str | None = None
) -> dict[str, Callable[..., int | str | None]]:
    """The same, shaped for a rule's ``resources: **...``: one callable per resource.

    Snakemake calls a resource callable with the arguments it names: ``attempt`` (memory and
    runtime grow on retries) and ``rulename`` (``resources.rules.<rule>`` overrides apply without
    the rules file repeating its own name). A callable returning None drops that resource, so ""
    values never reach sbatch. ``rule`` forces the override entry to use (default: the rule's name).
    """
    rule_resources(config, rule_class, 1, rule)  # fail at parse time, naming the bad key
    settings = ResourceSettings.from_config(config)
    keys = set(CLASS_KEYS[rule_class]) | {"slurm_account"}
    for override in settings.rules.values():
        keys |= set(override)

    def make(key: str) -> Callable[..., int | str | None]:
        def resource(wildcards: Any, attempt: int, rulename: str | None = None) -> int | str | None:
            return rule_resources(config, rule_class, attempt, rule or rulename).get(key)

        resource.__name__ = f"{rule_class}_{key}"
        return resource

    order = [k for k in (*CLASS_KEYS["gpu"], "slurm_account") if k in keys]
    return {k: make(k) for k in order}

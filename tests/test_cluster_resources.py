"""Per-rule-class resources: config → what a GPU/CPU rule requests, retries, schema defaults.

The dry-run tests in test_cluster_profiles.py check that the workflow's rules really pass these
through to Snakemake; here the function itself and its contract with the config schema.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from r1interp.cluster import ResourceSettings, rule_resources, snakemake_resources
from r1interp.config import schema_errors

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "schemas" / "stages" / "resources.schema.yaml"


def repo_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_gpu_class_has_every_key_the_slurm_plugin_maps():
    res = rule_resources(repo_config(), "gpu")
    assert {"gpu", "cpus_per_gpu", "mem_mb", "runtime", "slurm_partition"} <= set(res)
    cfg = repo_config()["resources"]["gpu"]
    assert res["gpu"] == cfg["gpu"] and res["mem_mb"] == cfg["mem_mb"] and res["runtime"] == cfg["runtime"]
    assert all(isinstance(res[k], int) for k in ("gpu", "cpus_per_gpu", "mem_mb", "runtime"))


def test_cpu_class_requests_no_gpu_and_empty_values_are_left_to_the_cluster():
    cfg = {"resources": {"cpu": {"slurm_partition": ""}, "gpu": {"gpu_model": ""}}}
    cpu = rule_resources(cfg, "cpu")
    assert "gpu" not in cpu and "cpus_per_gpu" not in cpu
    assert "slurm_partition" not in cpu  # "" → the cluster's default partition, not `-p ''`
    assert "gpu_model" not in rule_resources(cfg, "gpu")


def test_account_model_and_per_rule_override():
    cfg = {"resources": {"slurm_account": "proj42", "gpu": {"gpu_model": "a100", "mem_mb": 1000},
                         "rules": {"graphs_build": {"mem_mb": 5000, "runtime": 7}}}}
    base = rule_resources(cfg, "gpu", rule="train_transcoders")
    over = rule_resources(cfg, "gpu", rule="graphs_build")
    assert base["slurm_account"] == "proj42" and base["gpu_model"] == "a100"
    assert base["mem_mb"] == 1000 and over["mem_mb"] == 5000 and over["runtime"] == 7
    assert over["gpu_model"] == "a100"  # the override changes only the keys it names


def test_retries_scale_memory_and_runtime_geometrically_rounding_up():
    cfg = {"resources": {"cpu": {"mem_mb": 1000, "runtime": 10}, "retry_scaling": {"mem_mb": 1.5, "runtime": 1.25}}}
    got = [rule_resources(cfg, "cpu", attempt) for attempt in (1, 2, 3)]
    assert [g["mem_mb"] for g in got] == [1000, 1500, 2250]
    assert [g["runtime"] for g in got] == [10, 13, 16]  # 12.5 → 13, 15.625 → 16


def test_snakemake_form_evaluates_per_attempt_and_per_rule_name():
    cfg = {"resources": {"gpu": {"mem_mb": 2000, "runtime": 30, "gpu_model": ""},
                         "rules": {"graphs_build": {"mem_mb": 9000, "gpu": 2}}}}
    res = snakemake_resources(cfg, "gpu")
    assert all(callable(v) for v in res.values())
    assert res["gpu"](wildcards={}, attempt=1, rulename="train_transcoders") == 1
    assert res["mem_mb"](wildcards={}, attempt=3, rulename="train_transcoders") == 4500
    assert res["runtime"](wildcards={}, attempt=2, rulename="train_transcoders") == 60
    # the rule's own name selects its override; "" values evaluate to None (Snakemake drops them)
    assert res["mem_mb"](wildcards={}, attempt=1, rulename="graphs_build") == 9000
    assert res["gpu"](wildcards={}, attempt=1, rulename="graphs_build") == 2
    assert res["gpu_model"](wildcards={}, attempt=1, rulename="graphs_build") is None
    assert res["slurm_account"](wildcards={}, attempt=1, rulename="x") is None
    # CPU rules get no GPU keys unless an override names them
    cpu = snakemake_resources({"resources": {}}, "cpu")
    assert "gpu" not in cpu and cpu["mem_mb"](wildcards={}, attempt=1) == 8000
    with pytest.raises(ValueError, match="resources.gpu.runtime"):
        snakemake_resources({"resources": {"gpu": {"runtime": -1}}}, "gpu")  # fails at parse time


@pytest.mark.parametrize(
    "section, message",
    [
        ({"gpu": {"mem_mb": 0}}, "resources.gpu.mem_mb"),
        ({"gpu": {"mem_mb": "lots"}}, "resources.gpu.mem_mb"),
        ({"cpu": {"gpu": 1}}, "resources.cpu.gpu"),
        ({"gpu": {"gpu_model": "'a100'"}}, "resources.gpu.gpu_model"),
        ({"retry_scaling": {"mem_mb": 0.5}}, "resources.retry_scaling.mem_mb"),
        ({"rules": {"x": {"threads": 4}}}, "resources.rules.x.threads"),
        ({"partition": "gpu"}, "unknown key"),
    ],
)
def test_bad_values_fail_naming_the_key(section, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        rule_resources({"resources": section}, "gpu")


def test_bad_class_and_attempt_are_rejected():
    with pytest.raises(ValueError, match="rule_class"):
        rule_resources({}, "tpu")
    with pytest.raises(ValueError, match="attempt"):
        rule_resources({}, "gpu", attempt=0)


def _schema_defaults(node: dict) -> dict:
    return {k: (v["default"] if "properties" not in v else _schema_defaults(v)) for k, v in node["properties"].items()
            if "default" in v or "properties" in v}


def test_dataclass_defaults_equal_schema_defaults_and_repo_config():
    """Three places state the defaults (schema, dataclass, config.yaml): they must agree."""
    schema = yaml.safe_load(SCHEMA.read_text())
    schema_defaults = _schema_defaults(schema)
    settings = ResourceSettings()
    for cls in ("gpu", "cpu"):
        dc = {k: getattr(getattr(settings, cls), k) for k in schema_defaults[cls]}
        assert dc == schema_defaults[cls], cls
        assert rule_resources({}, cls) == rule_resources(repo_config(), cls), cls
    assert schema_defaults["retry_scaling"] == {"mem_mb": settings.retry_scaling.mem_mb,
                                                "runtime": settings.retry_scaling.runtime}
    assert schema_defaults["slurm_account"] == settings.slurm_account


def test_schema_accepts_repo_config_and_names_bad_keys():
    cfg = repo_config()
    assert schema_errors(cfg, REPO / "schemas" / "config.schema.yaml") == []
    cfg["resources"]["gpu"]["mem_mb"] = -5
    cfg["resources"]["cpu"]["gpus"] = 1
    errors = schema_errors(cfg, REPO / "schemas" / "config.schema.yaml")
    assert any(e.startswith("resources.gpu.mem_mb") for e in errors), errors
    assert any(e.startswith("resources.cpu") and "gpus" in e for e in errors), errors


def test_cli_prints_resources_of_an_attempt(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"resources": {"gpu": {"mem_mb": 100, "gpu_model": "h100"}}}))
    out = subprocess.run([sys.executable, "-m", "r1interp.cluster", "resources", "gpu", "--config", str(cfg),
                          "--attempt", "2"], capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["mem_mb"] == 150 and json.loads(out)["gpu_model"] == "h100"
    bad = subprocess.run([sys.executable, "-m", "r1interp.cluster", "resources", "gpu", "--config",
                          str(tmp_path / "missing.yaml")], capture_output=True, text=True)
    assert bad.returncode != 0 and "missing.yaml" in bad.stderr


def test_cli_merges_config_files_as_snakemake_does():
    """`resources` read config.yaml alone: the real run's memory, runtimes and GPU type (set in its
    own config file, merged last) could not be checked with it."""
    args = [sys.executable, "-m", "r1interp.cluster", "resources", "gpu", "--config", str(REPO / "config.yaml")]
    real = ["--configfile", str(REPO / "config" / "r1-distill-qwen-1.5b.yaml")]
    toy = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    merged = json.loads(subprocess.run(args + real + ["--rule", "train_transcoders"], capture_output=True, text=True, check=True).stdout)
    want = yaml.safe_load((REPO / "config" / "r1-distill-qwen-1.5b.yaml").read_text())["resources"]
    assert "gpu_model" not in toy  # "" in config.yaml: left to the cluster
    assert merged["gpu_model"] == want["gpu"]["gpu_model"] and merged["runtime"] == want["rules"]["train_transcoders"]["runtime"]
    assert merged["mem_mb"] == want["rules"]["train_transcoders"]["mem_mb"] and merged["slurm_partition"] == toy["slurm_partition"]


@pytest.mark.workflow
def test_a_resources_rules_key_that_names_no_rule_stops_the_plan(tmp_path):
    """`graph_build` for graphs_build was ignored without a word: its jobs kept the class defaults."""
    from conftest import copy_workflow, run_snakemake

    wd = copy_workflow(tmp_path)
    (wd / "typo.yaml").write_text(yaml.safe_dump({"resources": {"rules": {"graph_build": {"mem_mb": 200000}}}}))
    proc = run_snakemake(wd, "-n", "--configfile", "typo.yaml")
    assert proc.returncode != 0 and "resources.rules: no rule named ['graph_build']" in proc.stdout + proc.stderr
    assert "'graphs_build'" in proc.stdout + proc.stderr  # the listing shows the right name
    (wd / "ok.yaml").write_text(yaml.safe_dump({"resources": {"rules": {"graphs_build": {"mem_mb": 200000}, "features_collect": {"runtime": 60}}}}))
    proc = run_snakemake(wd, "-n", "--configfile", "ok.yaml")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]

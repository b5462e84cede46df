# Shared set-up: config validation (before any job runs), model registry helpers, targets.
import json
import re
from pathlib import Path

from snakemake.utils import min_version, validate

from r1interp.cluster import snakemake_resources
from r1interp.cluster.jobenv import export_job_environment
from r1interp.config import ConfigError, check_config, schema_errors

min_version("9.0")


configfile: "config.yaml"


_errors = schema_errors(config, Path(workflow.basedir) / "schemas/config.schema.yaml")
if _errors:
    _listing = "\n  ".join(_errors)
    raise WorkflowError(f"config.yaml is invalid:\n  {_listing}")
validate(config, "../schemas/config.schema.yaml")  # also fills in the schema's defaults
try:
    N_LAYERS = check_config(config)
except ConfigError as e:
    raise WorkflowError(f"config.yaml: {e}")

# Snakemake exports OMP_NUM_THREADS={threads} to every shell job, so torch uses exactly the
# threads a rule declares (oversubscribing 2 cores with side-by-side jobs costs ~5x).
# Jobs (SLURM inherits this env via --export=ALL) run Snakemake's own Python and import this
# checkout, even from an un-activated shell or inside conda envs (profiles/default keeps PYTHONPATH).
export_job_environment(workflow.basedir)

MODELS = config["run"]["models"]
REGISTRY = config["models"]
TARGETS = {}  # stage name -> list of final targets; `rule all` requests them all
CONDA_ENV = "../envs/r1interp.yaml"  # one environment for every rule (see envs/)


wildcard_constraints:
    model="|".join(re.escape(m) for m in MODELS),
    layer=r"\d+",


def entry(model):
    return REGISTRY[model]


def model_dir(model):
    """A local model dir (toy, or a downloaded model) or an HF id."""
    return entry(model)["path"]


def model_inputs(model):
    """Files a model depends on: the toy model's weights (built here) or nothing (HF)."""
    return [f"{model_dir(model)}/model.safetensors"] if entry(model)["source"] == "toy" else []


def tokenizer_dir(model):
    e = entry(model)
    return f"results/toy/tokenizer-{e.get('template', 'r1')}" if e["source"] == "toy" else e["path"]


def shard_inputs(wc):
    """The data stage's inputs: the toy tokenizer (+ corpus) for toy models, nothing for HF ones."""
    if entry(wc.model)["source"] != "toy":
        return []
    corpus = ["results/toy/corpus.jsonl"] if config["data"]["source"] == "toy" else []
    return [f"{tokenizer_dir(wc.model)}/tokenizer.json", *corpus]


def model_layers(model):
    n = N_LAYERS.get(model)
    if n is None:
        raise WorkflowError(f"cannot read the layer count of {model!r} ({model_dir(model)}): is it in the HF cache?")
    return list(range(n))


def gpu_resources():
    """``resources: **gpu_resources()``: gpu, gpu_model, cpus_per_gpu, mem_mb/runtime (× attempt), partition."""
    return snakemake_resources(config, "gpu")


def cpu_resources():
    return snakemake_resources(config, "cpu")


# Pins each GPU job to its own device on a multi-GPU box; a no-op under SLURM or without GPUs.
GPU_PIN = "python -m r1interp.cluster pin --count {resources.gpu} -- "


def transcoder_files(model):
    """Every layer's transcoder files of a model (sparsify layout): what whole-model stages need."""
    return expand(
        "results/{model}/transcoders/L{layer}/{f}", model=model, layer=model_layers(model), f=["cfg.json", "sae.safetensors"]
    )


def stage_params(section):
    return config.get(section, {})


def as_json(obj):
    """Quote a value for a shell argument (JSON in single quotes)."""
    return shq(json.dumps(obj))


def shq(text):
    """Quote a plain string for the shell."""
    import shlex

    return shlex.quote(str(text))


def all_targets():
    return [t for targets in TARGETS.values() for t in targets]

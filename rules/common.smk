# Shared set-up: config validation (before any job runs), model registry helpers, targets.
import json
import re
from pathlib import Path

from snakemake.utils import min_version, validate

from r1interp.cluster import rule_resources, snakemake_resources
from r1interp.cluster.jobenv import export_job_environment
from r1interp.config import ConfigError, check_config, schema_errors
from r1interp.heads.workflow import cli_args, control_args, pair_models, think_models

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


def tokenizer_inputs(model):
    """Files a model's tokenizer depends on: the toy tokenizer (built here) or nothing (HF)."""
    return [f"{tokenizer_dir(model)}/tokenizer.json"] if entry(model)["source"] == "toy" else []


def shard_inputs(wc):
    """The data stage's inputs: the toy tokenizer (+ corpus) for toy models, nothing for HF ones."""
    corpus = ["results/toy/corpus.jsonl"] if config["data"]["source"] == "toy" else []
    return [*tokenizer_inputs(wc.model), *corpus]


def shard_config(model):
    """``ShardConfig`` JSON of a model's rendering of the corpus (its own chat template)."""
    data = config["data"]
    return as_json({
        "template": entry(model).get("template", "r1"),
        "instruction": data.get("system_prompt"),
        "max_seq_len": data["max_seq_len"],
        "train_tokens": data["train_tokens"],
        "eval_tokens": data["eval_tokens"],
        "eval_fraction": data["eval_fraction"],
        "seed": config["run"]["seed"],
    })


def pair_as_base(model):
    """The ``run.pairs`` entry whose base is ``model`` (config check: at most one), else None."""
    return next((p for p in config["run"].get("pairs", []) if p["base"] == model), None)


def stream_model(model):
    """The model whose rendering of the corpus ``model`` reads: its reasoner for a base, else itself.

    Why: both models of a pair are trained, evaluated and read on ONE token stream (the reasoning
    corpus with its traces, rendered once); the base reads it through the pair's token map.
    """
    pair = pair_as_base(model)
    return pair["reasoner"] if pair else model


MAPPED_BASES = [m for m in MODELS if pair_as_base(m)]
STREAM_MODELS = [m for m in MODELS if m not in MAPPED_BASES]


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


def model_threads(model, rule):
    """Threads of a job of ``rule`` that runs one model: 1 for a toy model (its ops are too small to
    gain from a second thread, and two such jobs side by side finish sooner), else the CPUs that
    rule's GPU job asks for (its own ``resources.rules.<rule>.cpus_per_gpu`` where set)."""
    if entry(model)["source"] == "toy":
        return 1
    return int(rule_resources(config, "gpu", 1, rule).get("cpus_per_gpu", 8))


def gpu_pin(wildcards, resources):
    """The command prefix that pins a job to its own free device(s) on a multi-GPU box; "" when the
    job asks for no GPU (``r1interp cluster pin`` itself is a no-op under SLURM or without GPUs).
    Every GPU job uses it: ``params: pin=gpu_pin`` and ``shell: "{params.pin}r1interp ..."``."""
    return f"r1interp cluster pin --count {resources.gpu} -- " if resources.gpu else ""


def transcoder_files(model):
    """Every layer's transcoder files of a model (sparsify layout): what whole-model stages need."""
    return expand(
        "results/{model}/transcoders/L{layer}/{f}", model=model, layer=model_layers(model), f=["cfg.json", "sae.safetensors"]
    )


def stage_params(section):
    return config.get(section, {})


# External graph collections (config compare.external): motifs.smk profiles them into
# results/compare/external/{name}/, compare.smk compares them with the run's models.
EXTERNAL_SETS = {e["name"]: e["path"] for e in stage_params("compare").get("external", [])}


def as_json(obj):
    """Quote a value for a shell argument (JSON in single quotes)."""
    return shq(json.dumps(obj))


def shq(text):
    """Quote a plain string for the shell."""
    import shlex

    return shlex.quote(str(text))


def all_targets():
    return [t for targets in TARGETS.values() for t in targets]


# --- stage helpers (kept here so that rules files hold only rules) ---------------------------
SWEEP_TRAIN_KEYS = ("seq_len", "batch_size", "optimizer", "auxk_alpha", "dead_feature_threshold", "save_every", "seed")


def sweep_model():
    """The model the pilot sweep runs on: ``sweep.model``, else the first reasoner of the run."""
    from r1interp.core.settings import sweep_model as configured_sweep_model

    name = configured_sweep_model(config)
    if name not in MODELS:
        raise WorkflowError(f"config sweep.model: {name!r} is not in run.models {MODELS}")
    return name


def sweep_flags(point):
    """Training flags of one sweep grid point (transcoder settings + the point's hyper-parameters)."""
    from r1interp.sweep.grid import grid_points
    from r1interp.cliargs import to_flags
    from r1interp.core.settings import TrainSettings

    sweep, tc = stage_params("sweep"), stage_params("transcoders")
    values = {k: tc[k] for k in SWEEP_TRAIN_KEYS if k in tc}
    values.update(grid_points(sweep.get("grid", {}))[point])
    if "train_tokens" in sweep:  # else TrainSettings' default
        values["train_tokens"] = sweep["train_tokens"]
    return to_flags(TrainSettings, values)


def tc_groups(model):
    """Layer groups trained from one forward pass each (``transcoders.group_size``)."""
    from r1interp.core.groups import layer_groups

    return layer_groups(len(model_layers(model)), stage_params("transcoders").get("group_size", 0))


def tc_group_dir(model, group):
    return f"results/{model}/transcoders/groups/G{group}"


def tc_layer_dirs(model):
    """Each layer's weights directory in layer order: its group, or ``alone/L<n>`` when retrained alone."""
    from r1interp.core.groups import layer_weights_dir

    tc = stage_params("transcoders")
    n = len(model_layers(model))
    return [layer_weights_dir(model, layer, n, tc.get("group_size", 0), (tc.get("retrain_alone") or {}).get(model)) for layer in range(n)]


def eval_args(model):
    """CLI arguments shared by the evaluation rules (the ``evaluate:`` keys config sets; the rest
    take ``EvalData``'s defaults)."""
    from r1interp.cliargs import to_flags
    from r1interp.evaluate.config import EvalData

    ev = stage_params("evaluate")
    data = to_flags(EvalData, {k: ev[k] for k in ("max_tokens", "max_len", "batch_size") if k in ev})
    return f"--model-dir {shq(model_dir(model))} --device {config['run']['device']} --dtype {entry(model).get('dtype', 'auto')} {data}"

# Pilot sweep (src/r1interp/sweep/): one job per grid point trains the pilot layers of the sweep
# model and evaluates them on a slice held out of the *train* shard (selection never sees the eval
# shard the evaluate stage reports on); `sweep_select` writes results.parquet, pareto.png and
# selected.yaml, which the training rule takes as input (a new selection re-plans the training DAG).
from r1interp.cluster import snakemake_resources
from r1interp.cliargs import to_flags
from r1interp.sweep.config import PointEval
from r1interp.sweep.grid import grid_points, max_expansion_per_k
from r1interp.sweep.pareto import SelectionRule


SWEEP = stage_params("sweep")


SWEEP_MODEL = sweep_model()
SWEEP_POINTS = grid_points(SWEEP.get("grid", {}))
_layers = SWEEP.get("pilot_layers", "auto")
SWEEP_LAYERS = "auto" if _layers == "auto" else ",".join(str(x) for x in _layers)


rule sweep_point:
    input:
        model=model_inputs(SWEEP_MODEL),
        train=f"results/{SWEEP_MODEL}/data/train.parquet",
    output:
        "results/sweep/points/{point}.json",
    wildcard_constraints:
        point="|".join(re.escape(p) for p in SWEEP_POINTS),
    params:
        path=lambda wc: model_dir(SWEEP_MODEL),
        layers=SWEEP_LAYERS,
        flags=lambda wc: sweep_flags(wc.point),
        # only the keys config sets: the rest take PointEval's defaults (r1interp.sweep.config)
        options=to_flags(PointEval, {
            **{k: SWEEP[k] for k in ("validation_tokens", "dead_tokens_factor", "eval_tokens", "eval_max_len", "eval_batch_size", "keep_weights") if k in SWEEP},
            "max_expansion_per_k": max_expansion_per_k(SWEEP.get("grid", {})),
        }),
        work="results/sweep/work/{point}",
        device=config["run"]["device"],
        dtype=entry(SWEEP_MODEL).get("dtype", "auto"),
        pin=gpu_pin,
    threads: model_threads(SWEEP_MODEL, "sweep_point")
    resources:
        **snakemake_resources(config, "gpu", "sweep_point"),
    conda:
        CONDA_ENV
    log:
        "logs/sweep_point/{point}.log",
    benchmark:
        "benchmarks/sweep_point/{point}.tsv"
    shell:
        "{params.pin}r1interp sweep point --model-dir {params.path} --train-shard {input.train} "
        "--layers {params.layers} {params.options} --device {params.device} --dtype {params.dtype} {params.flags} "
        "--out {output} --work-dir {params.work} 2> {log}"


rule sweep_select:
    input:
        expand("results/sweep/points/{point}.json", point=sorted(SWEEP_POINTS)),
    output:
        parquet="results/sweep/results.parquet",
        png=report("results/sweep/pareto.png", caption="../report/pareto.rst", category="Transcoders"),
        selected="results/sweep/selected.yaml",
    params:
        selection=to_flags(SelectionRule, SWEEP.get("selection", {})),
        model=SWEEP_MODEL,
    resources:
        **snakemake_resources(config, "cpu", "sweep_select"),
    conda:
        CONDA_ENV
    log:
        "logs/sweep_select.log",
    shell:
        "r1interp sweep select --points {input} --sweep-model {params.model} {params.selection} "
        "--out-parquet {output.parquet} --out-png {output.png} "
        "--out-yaml {output.selected} 2> {log}"


TARGETS["sweep"] = ["results/sweep/results.parquet", "results/sweep/pareto.png", "results/sweep/selected.yaml"]

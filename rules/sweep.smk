# Pilot sweep (src/r1interp/sweep/): one job per grid point trains the pilot layers of the sweep
# model and evaluates them on a slice held out of the *train* shard (selection never sees the eval
# shard the evaluate stage reports on); `sweep_select` writes results.parquet, pareto.png and
# selected.yaml, which the training rule takes as input (a new selection re-plans the training DAG).
from r1interp.cluster import snakemake_resources
from r1interp.sweep.grid import grid_points, max_expansion_per_k


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
        eval_tokens=SWEEP.get("eval_tokens", 30000),
        validation=(
            f"--validation-tokens {SWEEP.get('validation_tokens', 20000)} "
            f"--dead-tokens-factor {SWEEP.get('dead_tokens_factor', 10)} "
            f"--max-expansion-per-k {max_expansion_per_k(SWEEP.get('grid', {}))}"
        ),
        eval_batch=SWEEP.get("eval_batch_size", 16),
        work="results/sweep/work/{point}",
        keep="--keep-weights" if SWEEP.get("keep_weights", False) else "",
        device=config["run"]["device"],
        dtype=entry(SWEEP_MODEL).get("dtype", "auto"),
        pin=lambda wc, resources: f"python -m r1interp.cluster pin --count {resources.gpu} -- " if resources.gpu else "",
    threads: model_threads(SWEEP_MODEL)
    resources:
        **snakemake_resources(config, "gpu", "sweep_point"),
    conda:
        CONDA_ENV
    log:
        "logs/sweep_point/{point}.log",
    benchmark:
        "benchmarks/sweep_point/{point}.tsv"
    shell:
        "{params.pin}python -m r1interp.sweep point --model-dir {params.path} --train-shard {input.train} "
        "--layers {params.layers} {params.validation} --eval-tokens {params.eval_tokens} "
        "--eval-batch-size {params.eval_batch} --device {params.device} --dtype {params.dtype} {params.flags} "
        "--out {output} --work-dir {params.work} {params.keep} 2> {log}"


rule sweep_select:
    input:
        expand("results/sweep/points/{point}.json", point=sorted(SWEEP_POINTS)),
    output:
        parquet="results/sweep/results.parquet",
        png=report("results/sweep/pareto.png", caption="../report/pareto.rst", category="Transcoders"),
        selected="results/sweep/selected.yaml",
    params:
        rule=SWEEP.get("selection", {}).get("rule", "min_ce"),
        ce=SWEEP.get("selection", {}).get("ce_target", 0.1),
        dead=SWEEP.get("selection", {}).get("dead_target", 10.0),
        tol=SWEEP.get("selection", {}).get("ce_tolerance", 0.005),
        model=SWEEP_MODEL,
    resources:
        **snakemake_resources(config, "cpu", "sweep_select"),
    conda:
        CONDA_ENV
    log:
        "logs/sweep_select.log",
    shell:
        "python -m r1interp.sweep select --points {input} --sweep-model {params.model} "
        "--rule {params.rule} --ce-target {params.ce} --dead-target {params.dead} "
        "--ce-tolerance {params.tol} --out-parquet {output.parquet} --out-png {output.png} "
        "--out-yaml {output.selected} 2> {log}"


TARGETS["sweep"] = ["results/sweep/results.parquet", "results/sweep/pareto.png", "results/sweep/selected.yaml"]

# Reasoning-focus heads, activation patching (per r1-template model) and model diff by layer (per
# run.pairs entry). Science: src/r1interp/heads/, src/r1interp/patching/, src/r1interp/modeldiff/.
# Heads and patching read the model's own generations, so they apply to models whose template opens
# a <think> trace (template r1). Options come from config `heads:` (sub-sections heads, patching,
# modeldiff); a key absent from config takes the CLI default, which equals the schema default.
from r1interp.cluster import snakemake_resources
from r1interp.heads.workflow import cli_args, control_args, gpu_pin, pair_models, think_models

HEADS_PAIRS = config["run"].get("pairs", [])
HEADS_USE_LABELS = stage_params("heads").get("modeldiff", {}).get("use_labels", False)


wildcard_constraints:
    reasoner="|".join(re.escape(p["reasoner"]) for p in HEADS_PAIRS) or "^$",
    base="|".join(re.escape(p["base"]) for p in HEADS_PAIRS) or "^$",


rule heads:
    input:
        model=lambda wc: model_inputs(wc.model),
        generations="results/{model}/generations.parquet",
    output:
        table="results/{model}/heads/heads.parquet",
        profile=report("results/{model}/heads/profile.png", caption="../report/heads_profile.rst", category="Heads", subcategory="{model}"),
        top="results/{model}/heads/top_heads.json",
    params:
        path=lambda wc: model_dir(wc.model),
        dtype=lambda wc: entry(wc.model).get("dtype", "auto"),
        device=config["run"]["device"],
        args=cli_args(config, "heads", ["max_len", "max_traces", "only_correct", "top_k"]),
        pin=lambda wc, resources: gpu_pin(resources.gpu),
    threads: lambda wc: model_threads(wc.model)
    resources:
        **snakemake_resources(config, "gpu", "heads"),
    conda:
        CONDA_ENV
    log:
        "logs/heads/{model}.log",
    benchmark:
        "benchmarks/heads/{model}.tsv"
    shell:
        "{params.pin}python -m r1interp.heads heads --model-path {params.path} --model-name {wildcards.model} "
        "--generations {input.generations} --out-dir results/{wildcards.model}/heads "
        "--device {params.device} --dtype {params.dtype} {params.args} 2> {log}"


rule patching:
    input:
        model=lambda wc: model_inputs(wc.model),
        generations="results/{model}/generations.parquet",
    output:
        effects="results/{model}/patching/effects.parquet",
        pairs="results/{model}/patching/pairs.parquet",
        summary="results/{model}/patching/summary.json",
        heatmap=report("results/{model}/patching/heatmap.png", caption="../report/patching_heatmap.rst", category="Patching", subcategory="{model}"),
    params:
        path=lambda wc: model_dir(wc.model),
        dtype=lambda wc: entry(wc.model).get("dtype", "auto"),
        device=config["run"]["device"],
        args=cli_args(
            config,
            "patching",
            ["max_pairs", "only_correct", "position_sets", "n_reasoning_tokens", "batch_size", "max_len",
             "max_edits", "values_per_number", "allow_length_change"],
        ),
        pin=lambda wc, resources: gpu_pin(resources.gpu),
    threads: lambda wc: model_threads(wc.model)
    resources:
        **snakemake_resources(config, "gpu", "patching"),
    conda:
        CONDA_ENV
    log:
        "logs/patching/{model}.log",
    benchmark:
        "benchmarks/patching/{model}.tsv"
    shell:
        "{params.pin}python -m r1interp.patching run --model-path {params.path} --model-name {wildcards.model} "
        "--generations {input.generations} --out-dir results/{wildcards.model}/patching "
        "--device {params.device} --dtype {params.dtype} {params.args} 2> {log}"


rule modeldiff_residual:
    input:
        models=lambda wc: [f for m in pair_models(config, wc.reasoner, wc.base) for f in model_inputs(m)],
        shard="results/{reasoner}/data/eval.parquet",
        base_shard="results/{base}/data/eval.parquet",  # the same documents, read with the base's own special tokens
    output:
        table="results/compare/modeldiff/{reasoner}__{base}/residual_diff.parquet",
        plot=report("results/compare/modeldiff/{reasoner}__{base}/residual_diff.png", caption="../report/residual_diff.rst", category="Model diff"),
    params:
        reasoner=lambda wc: model_dir(wc.reasoner),
        base=lambda wc: model_dir(wc.base),
        control=lambda wc: control_args(config, wc.reasoner, wc.base),
        device=config["run"]["device"],
        args=cli_args(config, "modeldiff", ["max_docs", "max_len", "skip_first_token", "dtype"]),
        pin=lambda wc, resources: gpu_pin(resources.gpu),
    threads: lambda wc: model_threads(wc.reasoner)
    resources:
        **snakemake_resources(config, "gpu", "modeldiff_residual"),
    conda:
        CONDA_ENV
    log:
        "logs/modeldiff_residual/{reasoner}__{base}.log",
    benchmark:
        "benchmarks/modeldiff_residual/{reasoner}__{base}.tsv"
    shell:
        "{params.pin}python -m r1interp.modeldiff residual --reasoner-path {params.reasoner} "
        "--reasoner-name {wildcards.reasoner} --base-path {params.base} --base-name {wildcards.base} {params.control} "
        "--shard {input.shard} --base-shard {input.base_shard} --out-dir results/compare/modeldiff/{wildcards.reasoner}__{wildcards.base} "
        "--device {params.device} {params.args} 2> {log}"


rule modeldiff_dictionary:
    input:
        transcoders=lambda wc: expand(
            "results/{model}/transcoders/L{layer}/{f}",
            model=[wc.reasoner, wc.base],
            layer=sorted(set(model_layers(wc.reasoner)) & set(model_layers(wc.base))),
            f=["cfg.json", "sae.safetensors"],
        ),
        # labels are read when present either way; use_labels makes the rule wait for autointerp
        labels=lambda wc: expand(
            "results/{model}/labels/L{layer}.json",
            model=[wc.reasoner, wc.base],
            layer=sorted(set(model_layers(wc.reasoner)) & set(model_layers(wc.base))),
        ) if HEADS_USE_LABELS else [],
    output:
        matches="results/compare/modeldiff/{reasoner}__{base}/dictionary_match.parquet",
        summary="results/compare/modeldiff/{reasoner}__{base}/dictionary_summary.parquet",
        plot=report("results/compare/modeldiff/{reasoner}__{base}/dictionary_match.png", caption="../report/dictionary_match.rst", category="Model diff"),
    params:
        layers=lambda wc: " ".join(str(x) for x in sorted(set(model_layers(wc.reasoner)) & set(model_layers(wc.base)))),
        device=config["run"]["device"],
        args=cli_args(config, "modeldiff", ["threshold"]),
        pin=lambda wc, resources: gpu_pin(resources.gpu),
    threads: lambda wc: model_threads(wc.reasoner)
    resources:
        **snakemake_resources(config, "gpu", "modeldiff_dictionary"),
    conda:
        CONDA_ENV
    log:
        "logs/modeldiff_dictionary/{reasoner}__{base}.log",
    benchmark:
        "benchmarks/modeldiff_dictionary/{reasoner}__{base}.tsv"
    shell:
        "{params.pin}python -m r1interp.modeldiff dictionary --reasoner-name {wildcards.reasoner} "
        "--base-name {wildcards.base} --reasoner-transcoders results/{wildcards.reasoner}/transcoders "
        "--base-transcoders results/{wildcards.base}/transcoders --reasoner-labels results/{wildcards.reasoner}/labels "
        "--base-labels results/{wildcards.base}/labels --layers {params.layers} --device {params.device} "
        "--out-dir results/compare/modeldiff/{wildcards.reasoner}__{wildcards.base} {params.args} 2> {log}"


TARGETS["heads"] = expand(
    "results/{model}/heads/{f}", model=think_models(config), f=["heads.parquet", "profile.png", "top_heads.json"]
)
TARGETS["patching"] = expand(
    "results/{model}/patching/{f}",
    model=think_models(config),
    f=["effects.parquet", "pairs.parquet", "summary.json", "heatmap.png"],
)
TARGETS["modeldiff"] = [
    f"results/compare/modeldiff/{p['reasoner']}__{p['base']}/{f}"
    for p in HEADS_PAIRS
    for f in ["residual_diff.parquet", "residual_diff.png", "dictionary_match.parquet", "dictionary_summary.parquet", "dictionary_match.png"]
]

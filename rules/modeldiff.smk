# Model diff by layer, per run.pairs entry: residual-stream difference reasoner vs base (and the
# pair's control) and transcoder-dictionary matching. Science: src/r1interp/modeldiff/.
# Options: config `heads.modeldiff`; a key absent from config takes the CLI default, which equals
# the schema default.
from r1interp.cluster import snakemake_resources

MODELDIFF_PAIRS = config["run"].get("pairs", [])
MODELDIFF_USE_LABELS = stage_params("heads").get("modeldiff", {}).get("use_labels", False)


wildcard_constraints:
    reasoner="|".join(re.escape(p["reasoner"]) for p in MODELDIFF_PAIRS) or "^$",
    base="|".join(re.escape(p["base"]) for p in MODELDIFF_PAIRS) or "^$",


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
        pin=gpu_pin,
    threads: lambda wc: model_threads(wc.reasoner, "modeldiff_residual")
    resources:
        **snakemake_resources(config, "gpu", "modeldiff_residual"),
    conda:
        CONDA_ENV
    log:
        "logs/modeldiff_residual/{reasoner}__{base}.log",
    benchmark:
        "benchmarks/modeldiff_residual/{reasoner}__{base}.tsv"
    shell:
        "{params.pin}r1interp modeldiff residual --reasoner-path {params.reasoner} "
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
        ) if MODELDIFF_USE_LABELS else [],
    output:
        matches="results/compare/modeldiff/{reasoner}__{base}/dictionary_match.parquet",
        summary="results/compare/modeldiff/{reasoner}__{base}/dictionary_summary.parquet",
        plot=report("results/compare/modeldiff/{reasoner}__{base}/dictionary_match.png", caption="../report/dictionary_match.rst", category="Model diff"),
    params:
        layers=lambda wc: " ".join(str(x) for x in sorted(set(model_layers(wc.reasoner)) & set(model_layers(wc.base)))),
        device=config["run"]["device"],
        args=cli_args(config, "modeldiff", ["threshold"]),
        pin=gpu_pin,
    threads: lambda wc: model_threads(wc.reasoner, "modeldiff_dictionary")
    resources:
        **snakemake_resources(config, "gpu", "modeldiff_dictionary"),
    conda:
        CONDA_ENV
    log:
        "logs/modeldiff_dictionary/{reasoner}__{base}.log",
    benchmark:
        "benchmarks/modeldiff_dictionary/{reasoner}__{base}.tsv"
    shell:
        "{params.pin}r1interp modeldiff dictionary --reasoner-name {wildcards.reasoner} "
        "--base-name {wildcards.base} --reasoner-transcoders results/{wildcards.reasoner}/transcoders "
        "--base-transcoders results/{wildcards.base}/transcoders --reasoner-labels results/{wildcards.reasoner}/labels "
        "--base-labels results/{wildcards.base}/labels --layers {params.layers} --device {params.device} "
        "--out-dir results/compare/modeldiff/{wildcards.reasoner}__{wildcards.base} {params.args} 2> {log}"


TARGETS["modeldiff"] = [
    f"results/compare/modeldiff/{p['reasoner']}__{p['base']}/{f}"
    for p in MODELDIFF_PAIRS
    for f in ["residual_diff.parquet", "residual_diff.png", "dictionary_match.parquet", "dictionary_summary.parquet", "dictionary_match.png"]
]

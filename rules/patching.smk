# Activation patching, per r1-template model (it reads the model's own generations: clean vs
# number-edited traces). Science: src/r1interp/patching/. Options: config `heads.patching`; a key
# absent from config takes the CLI default, which equals the schema default.
from r1interp.cluster import snakemake_resources


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
        pin=gpu_pin,
    threads: lambda wc: model_threads(wc.model, "patching")
    resources:
        **snakemake_resources(config, "gpu", "patching"),
    conda:
        CONDA_ENV
    log:
        "logs/patching/{model}.log",
    benchmark:
        "benchmarks/patching/{model}.tsv"
    shell:
        "{params.pin}r1interp patching run --model-path {params.path} --model-name {wildcards.model} "
        "--generations {input.generations} --out-dir results/{wildcards.model}/patching "
        "--device {params.device} --dtype {params.dtype} {params.args} 2> {log}"


TARGETS["patching"] = expand(
    "results/{model}/patching/{f}",
    model=think_models(config),
    f=["effects.parquet", "pairs.parquet", "summary.json", "heatmap.png"],
)

# Reasoning-focus attention heads, per r1-template model (they read the model's own generations,
# so they apply to models whose template opens a <think> trace). Science: src/r1interp/heads/.
# Options: config `heads.heads`; a key absent from config takes the CLI default, which equals the
# schema default.
from r1interp.cluster import snakemake_resources


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
        pin=gpu_pin,
    threads: lambda wc: model_threads(wc.model, "heads")
    resources:
        **snakemake_resources(config, "gpu", "heads"),
    conda:
        CONDA_ENV
    log:
        "logs/heads/{model}.log",
    benchmark:
        "benchmarks/heads/{model}.tsv"
    shell:
        "{params.pin}r1interp heads heads --model-path {params.path} --model-name {wildcards.model} "
        "--generations {input.generations} --out-dir results/{wildcards.model}/heads "
        "--device {params.device} --dtype {params.dtype} {params.args} 2> {log}"


TARGETS["heads"] = expand(
    "results/{model}/heads/{f}", model=think_models(config), f=["heads.parquet", "profile.png", "top_heads.json"]
)

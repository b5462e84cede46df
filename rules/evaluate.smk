# Faithfulness evaluation (src/r1interp/evaluate/) on the eval shard: per layer (that MLP replaced by
# its transcoder), all layers replaced at once (+ greedy generations side by side), the per-layer
# table with flags against the targets (the transcoders' model card reads it: rules/transcoders.smk).
from r1interp.cliargs import to_flags
from r1interp.cluster import snakemake_resources
from r1interp.evaluate.config import SideBySide
from r1interp.core.targets import Targets

EVAL = stage_params("evaluate")
_TARGETS_CFG = EVAL.get("targets", {})
_GEN_CFG = EVAL.get("generations", {})


rule evaluate_layer:
    input:
        model=lambda wc: model_inputs(wc.model),
        eval="results/{model}/data/eval.parquet",
        cfg="results/{model}/transcoders/L{layer}/cfg.json",
        weights="results/{model}/transcoders/L{layer}/sae.safetensors",
    output:
        "results/{model}/eval/L{layer}.json",
    params:
        common=lambda wc: eval_args(wc.model),
        tc=lambda wc, input: str(Path(input.cfg).parent),
        pin=gpu_pin,
    threads: lambda wc: model_threads(wc.model, "evaluate_layer")
    resources:
        **snakemake_resources(config, "gpu", "evaluate_layer"),
    conda:
        CONDA_ENV
    log:
        "logs/evaluate_layer/{model}/L{layer}.log",
    benchmark:
        "benchmarks/evaluate_layer/{model}/L{layer}.tsv"
    shell:
        "{params.pin}r1interp evaluate layer {params.common} --eval-shard {input.eval} "
        "--transcoder {params.tc} --layer {wildcards.layer} --out {output} 2> {log}"


rule evaluate_full:
    input:
        model=lambda wc: model_inputs(wc.model),
        eval="results/{model}/data/eval.parquet",
        transcoders=lambda wc: transcoder_files(wc.model),
    output:
        full="results/{model}/eval/full.json",
        generations="results/{model}/eval/generations.md",
    params:
        common=lambda wc: eval_args(wc.model),
        root="results/{model}/transcoders",
        generations=to_flags(SideBySide, _GEN_CFG),
        pin=gpu_pin,
    threads: lambda wc: model_threads(wc.model, "evaluate_full")
    resources:
        **snakemake_resources(config, "gpu", "evaluate_full"),
    conda:
        CONDA_ENV
    log:
        "logs/evaluate_full/{model}.log",
    benchmark:
        "benchmarks/evaluate_full/{model}.tsv"
    shell:
        "{params.pin}r1interp evaluate full {params.common} --eval-shard {input.eval} "
        "--transcoders-root {params.root} --out {output.full} --generations-out {output.generations} "
        "{params.generations} --model-name {wildcards.model} 2> {log}"


rule evaluate_table:
    input:
        layers=lambda wc: expand("results/{model}/eval/L{layer}.json", model=wc.model, layer=model_layers(wc.model)),
        full="results/{model}/eval/full.json",
    output:
        parquet="results/{model}/eval/layers.parquet",
        md="results/{model}/eval/summary.md",
    params:
        targets=to_flags(Targets, _TARGETS_CFG),
    resources:
        **snakemake_resources(config, "cpu", "evaluate_table"),
    conda:
        CONDA_ENV
    log:
        "logs/evaluate_table/{model}.log",
    benchmark:
        "benchmarks/evaluate_table/{model}.tsv"
    shell:
        "r1interp evaluate table --layer-json {input.layers} --full {input.full} "
        "--out-parquet {output.parquet} --out-md {output.md} --model-name {wildcards.model} "
        "{params.targets} 2> {log}"


TARGETS["evaluate"] = [
    f"results/{m}/{f}" for m in MODELS
    for f in ("eval/layers.parquet", "eval/summary.md", "eval/full.json", "eval/generations.md")
]

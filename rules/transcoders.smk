# Skip transcoders (src/r1interp/transcoders/): training, per-layer links, circuit-tracer export and
# the model card. Training: every layer of every model, in groups of
# `transcoders.group_size` consecutive layers trained from one model forward per batch (the model
# runs only up to the group's last layer). `train_transcoders` writes a group directory;
# `transcoder_layer` hard-links one layer out of it to the per-layer target
# results/{model}/transcoders/L{layer}/{cfg.json,sae.safetensors} (sparsify's layout).
#
# Retrain ONE layer alone (and only what depends on it), whatever the group size:
#   snakemake --config 'transcoders={retrain_alone: {<model>: [<n>]}}' \
#             --forcerun results/<model>/transcoders/alone/L<n>
# `train_transcoder_alone` trains that layer as a group of one into .../transcoders/alone/L<n>;
# the layer's files link from there from then on (an alone/ directory on disk keeps it so), so
# the group and every other layer keep their weights. Delete alone/L<n> to return to the group's.
# A killed training job resumes from its last checkpoint (results/{model}/transcoders/.checkpoints/)
# when the rule reruns; the checkpoint is deleted once the group is done.
from r1interp.cluster import snakemake_resources
from r1interp.cliargs import to_flags
from r1interp.core.settings import TrainSettings
from r1interp.core.targets import Targets


TC = stage_params("transcoders")
TC_FLAG_KEYS = ("train_tokens", "seq_len", "batch_size", "optimizer", "auxk_alpha", "dead_feature_threshold", "save_every", "seed")


rule train_transcoders:
    input:
        model=lambda wc: model_inputs(wc.model),
        train="results/{model}/data/train.parquet",
        selected="results/sweep/selected.yaml",
    output:
        directory("results/{model}/transcoders/groups/G{group}"),
    wildcard_constraints:
        group=r"\d+",
    params:
        path=lambda wc: model_dir(wc.model),
        layers=lambda wc: ",".join(str(x) for x in tc_groups(wc.model)[int(wc.group)]),
        ckpt="results/{model}/transcoders/.checkpoints/G{group}",
        flags=to_flags(TrainSettings, {k: TC[k] for k in TC_FLAG_KEYS if k in TC}),
        device=config["run"]["device"],
        dtype=lambda wc: entry(wc.model).get("dtype", "auto"),
        pin=gpu_pin,
    threads: lambda wc: model_threads(wc.model, "train_transcoders")
    resources:
        **snakemake_resources(config, "gpu", "train_transcoders"),
    conda:
        CONDA_ENV
    log:
        "logs/train_transcoders/{model}/G{group}.log",
    benchmark:
        "benchmarks/train_transcoders/{model}/G{group}.tsv"
    shell:
        "{params.pin}r1interp transcoders train --model-dir {params.path} --train-shard {input.train} "
        "--layers {params.layers} --selected {input.selected} --out-dir {output} --checkpoint-dir {params.ckpt} "
        "--device {params.device} --dtype {params.dtype} {params.flags} 2> {log}"


rule train_transcoder_alone:
    input:
        model=lambda wc: model_inputs(wc.model),
        train="results/{model}/data/train.parquet",
        selected="results/sweep/selected.yaml",
    output:
        directory("results/{model}/transcoders/alone/L{layer}"),
    params:
        path=lambda wc: model_dir(wc.model),
        ckpt="results/{model}/transcoders/.checkpoints/alone-L{layer}",
        flags=to_flags(TrainSettings, {k: TC[k] for k in TC_FLAG_KEYS if k in TC}),
        device=config["run"]["device"],
        dtype=lambda wc: entry(wc.model).get("dtype", "auto"),
        pin=gpu_pin,
    threads: lambda wc: model_threads(wc.model, "train_transcoder_alone")
    resources:
        **snakemake_resources(config, "gpu", "train_transcoders"),
    conda:
        CONDA_ENV
    log:
        "logs/train_transcoder_alone/{model}/L{layer}.log",
    benchmark:
        "benchmarks/train_transcoder_alone/{model}/L{layer}.tsv"
    shell:
        "{params.pin}r1interp transcoders train --model-dir {params.path} --train-shard {input.train} "
        "--layers {wildcards.layer} --selected {input.selected} --out-dir {output} --checkpoint-dir {params.ckpt} "
        "--device {params.device} --dtype {params.dtype} {params.flags} 2> {log}"


localrules:
    transcoder_layer,


rule transcoder_layer:
    input:
        lambda wc: tc_layer_dirs(wc.model)[int(wc.layer)],
    output:
        cfg="results/{model}/transcoders/L{layer}/cfg.json",
        weights="results/{model}/transcoders/L{layer}/sae.safetensors",
    params:
        out=lambda wc, output: str(Path(output.cfg).parent),
    resources:
        **snakemake_resources(config, "cpu", "transcoder_layer"),
    conda:
        CONDA_ENV
    log:
        "logs/transcoder_layer/{model}/L{layer}.log",
    shell:
        "r1interp transcoders link --group-dir {input} --layer {wildcards.layer} --out-dir {params.out} 2> {log}"


rule export_circuit_tracer:
    input:
        lambda wc: transcoder_files(wc.model),
    output:
        directory("results/{model}/transcoders/circuit_tracer"),
    params:
        path=lambda wc: model_dir(wc.model),
        root="results/{model}/transcoders",
        dtype=TC.get("export_dtype", "keep"),
    resources:
        **snakemake_resources(config, "cpu", "export_circuit_tracer"),
    conda:
        CONDA_ENV
    log:
        "logs/export_circuit_tracer/{model}.log",
    shell:
        "r1interp transcoders export --model-dir {params.path} --transcoders-root {params.root} "
        "--out-dir {output} --scan r1interp/{wildcards.model} --dtype {params.dtype} 2> {log}"


# The Hugging Face model card of a model's transcoders: training settings (sweep selection) and
# the evaluate stage's faithfulness table.
rule transcoder_card:
    input:
        layer_dirs=lambda wc: sorted(set(tc_layer_dirs(wc.model))),
        layers="results/{model}/eval/layers.parquet",
        full="results/{model}/eval/full.json",
        selected="results/sweep/selected.yaml",
    output:
        "results/{model}/transcoders/README.md",
    params:
        path=lambda wc: shq(model_dir(wc.model)),
        base=lambda wc: shq(model_dir(wc.model) if entry(wc.model)["source"] == "hf" else wc.model),
        license=shq(stage_params("transcoders").get("license", "mit")),
        layer_dirs=lambda wc: " ".join(tc_layer_dirs(wc.model)),
        export_dtype=TC.get("export_dtype", "keep"),
        targets=to_flags(Targets, stage_params("evaluate").get("targets", {})),
    resources:
        **snakemake_resources(config, "cpu", "transcoder_card"),
    conda:
        CONDA_ENV
    log:
        "logs/transcoder_card/{model}.log",
    benchmark:
        "benchmarks/transcoder_card/{model}.tsv"
    shell:
        "r1interp transcoders card --model-name {wildcards.model} --base-model {params.base} "
        "--model-dir {params.path} --license {params.license} --layer-dirs {params.layer_dirs} "
        "--export-dtype {params.export_dtype} {params.targets} "
        "--layers-parquet {input.layers} --full {input.full} --selected {input.selected} --out {output} 2> {log}"


TARGETS["transcoders"] = [f for m in MODELS for f in transcoder_files(m)] + [
    f"results/{m}/transcoders/{f}" for m in MODELS for f in ("circuit_tracer", "README.md")
]

# Feature activations: ONE job per model runs the model once over the `features.split` token shard
# with every layer's transcoder hooked in, and writes per-layer stats/examples tables plus a summary.
# Science: src/r1interp/features/ (table schemas in its package docstring).
# One rule per model (generated below) because a model's layer count fixes its list of outputs;
# resources come from config `resources.gpu`, overridable as `resources.rules.features_collect`.
from r1interp.cluster import snakemake_resources

FEATURES = stage_params("features")


for _model in MODELS:
    _layers = model_layers(_model)

    rule:
        name:
            "features_collect_" + re.sub(r"\W", "_", _model)
        input:
            model=model_inputs(_model),
            shards=f"results/{_model}/data/{FEATURES.get('split', 'eval')}.parquet",
            transcoders=expand(
                "results/{model}/transcoders/L{layer}/{f}",
                model=_model, layer=_layers, f=["cfg.json", "sae.safetensors"],
            ),
        output:
            stats=expand("results/{model}/features/L{layer}.stats.parquet", model=_model, layer=_layers),
            examples=expand("results/{model}/features/L{layer}.examples.parquet", model=_model, layer=_layers),
            summary=f"results/{_model}/features/summary.json",
        params:
            path=lambda wc, input, m=_model: str(Path(input.model[0]).parent) if input.model else model_dir(m),
            transcoders=lambda wc, input: str(Path(input.transcoders[0]).parent.parent),
            layers=" ".join(str(layer) for layer in _layers),
            out=lambda wc, output: str(Path(output.summary).parent),
            device=config["run"]["device"],
            dtype=entry(_model).get("dtype", "auto"),
            cfg=as_json(FEATURES),
            # pin this job to a free GPU on a multi-GPU box (a no-op without GPUs or under SLURM)
            pin=gpu_pin,
        threads: model_threads(_model, "features_collect")
        resources:
            **snakemake_resources(config, "gpu", "features_collect"),
        conda:
            CONDA_ENV
        log:
            f"logs/features_collect/{_model}.log",
        benchmark:
            f"benchmarks/features_collect/{_model}.tsv"
        shell:
            "{params.pin}r1interp features collect --model-path {params.path} --shards {input.shards} "
            "--transcoders-dir {params.transcoders} --layers {params.layers} --out-dir {params.out} "
            "--device {params.device} --dtype {params.dtype} --params {params.cfg} --no-progress 2> {log}"


TARGETS["features"] = [f"results/{m}/features/summary.json" for m in MODELS] + [
    f"results/{m}/features/L{layer}.{kind}.parquet" for m in MODELS for layer in model_layers(m) for kind in ("stats", "examples")
]

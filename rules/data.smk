# Data stage: corpus → chat template → <think>/answer segmentation → train/eval token shards.

DATA = config["data"]


rule data_shards:
    input:
        shard_inputs,
    output:
        train="results/{model}/data/train.parquet",
        eval="results/{model}/data/eval.parquet",
    params:
        tokenizer=lambda wc: tokenizer_dir(wc.model),
        source=DATA["source"],
        datasets=as_json(DATA.get("hf", {}).get("datasets", [])),
        local=" ".join(DATA.get("hf", {}).get("local_files", [])),
        shard_cfg=lambda wc: as_json({
            "template": entry(wc.model).get("template", "r1"),
            "instruction": DATA.get("system_prompt"),
            "max_seq_len": DATA["max_seq_len"],
            "train_tokens": DATA["train_tokens"],
            "eval_tokens": DATA["eval_tokens"],
            "eval_fraction": DATA["eval_fraction"],
            "seed": config["run"]["seed"],
        }),
    resources:
        **cpu_resources(),
    conda:
        CONDA_ENV
    log:
        "logs/data_shards/{model}.log",
    shell:
        "python -m r1interp.data shards --tokenizer {params.tokenizer} --source {params.source} "
        "--corpus results/toy/corpus.jsonl --datasets {params.datasets} --local-files {params.local} "
        "--shard-config {params.shard_cfg} --out-train {output.train} --out-eval {output.eval} 2> {log}"


TARGETS["data"] = expand("results/{model}/data/{split}.parquet", model=MODELS, split=["train", "eval"])

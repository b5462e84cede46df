# Data stage: corpus → chat template → <think>/answer segmentation → train/eval token shards.
# One token stream per pair: the reasoner's rendering (traces included) is built once; its base
# reads the same rows through the pair's token map (same positions, its own special tokens).

DATA = config["data"]


rule data_shards:
    input:
        shard_inputs,
    output:
        train="results/{model}/data/train.parquet",
        eval="results/{model}/data/eval.parquet",
    wildcard_constraints:
        model="|".join(re.escape(m) for m in STREAM_MODELS) or "^$",
    params:
        tokenizer=lambda wc: tokenizer_dir(wc.model),
        source=DATA["source"],
        datasets=as_json(DATA.get("hf", {}).get("datasets", [])),
        local=" ".join(DATA.get("hf", {}).get("local_files", [])),
        shard_cfg=lambda wc: shard_config(wc.model),
    resources:
        **cpu_resources(),
    conda:
        CONDA_ENV
    log:
        "logs/data_shards/{model}.log",
    benchmark:
        "benchmarks/data_shards/{model}.tsv"
    shell:
        "r1interp data shards --tokenizer {params.tokenizer} --source {params.source} "
        "--corpus results/toy/corpus.jsonl --datasets {params.datasets} --local-files {params.local} "
        "--shard-config {params.shard_cfg} --out-train {output.train} --out-eval {output.eval} 2> {log}"


rule data_shards_mapped:
    input:
        shards=lambda wc: expand("results/{m}/data/{split}.parquet", m=stream_model(wc.model), split=["train", "eval"]),
        tokenizers=lambda wc: tokenizer_inputs(wc.model) + tokenizer_inputs(stream_model(wc.model)),
    output:
        train="results/{model}/data/train.parquet",
        eval="results/{model}/data/eval.parquet",
        token_map="results/{model}/data/tokenmap.json",
    wildcard_constraints:
        model="|".join(re.escape(m) for m in MAPPED_BASES) or "^$",
    params:
        source=lambda wc: stream_model(wc.model),
        source_tokenizer=lambda wc: tokenizer_dir(stream_model(wc.model)),
        target_tokenizer=lambda wc: tokenizer_dir(wc.model),
        unmatched=lambda wc: shq(pair_as_base(wc.model).get("unmatched_as", "\n")),
    resources:
        **cpu_resources(),
    conda:
        CONDA_ENV
    log:
        "logs/data_shards_mapped/{model}.log",
    benchmark:
        "benchmarks/data_shards_mapped/{model}.tsv"
    shell:
        "r1interp data map --source-tokenizer {params.source_tokenizer} --target-tokenizer {params.target_tokenizer} "
        "--source-name {params.source} --target-name {wildcards.model} --unmatched-as {params.unmatched} "
        "--source-shards {input.shards} --out-shards {output.train} {output.eval} --out-map {output.token_map} 2> {log}"


rule toy_pretrain_shards:
    """A toy model's own training text (its template: traces for the reasoner, answers for the base),
    which rules/toy.smk trains it on. Distinct from the analysis stream above, which both models of
    a pair share."""
    input:
        tokenizer=lambda wc: tokenizer_inputs(wc.model),
        corpus="results/toy/corpus.jsonl",
    output:
        train="results/toy/pretrain/{model}/train.parquet",
        eval="results/toy/pretrain/{model}/eval.parquet",
    params:
        tokenizer=lambda wc: tokenizer_dir(wc.model),
        shard_cfg=lambda wc: shard_config(wc.model),
    resources:
        **cpu_resources(),
    conda:
        CONDA_ENV
    log:
        "logs/toy_pretrain_shards/{model}.log",
    benchmark:
        "benchmarks/toy_pretrain_shards/{model}.tsv"
    shell:
        "r1interp data shards --tokenizer {params.tokenizer} --source toy --corpus {input.corpus} "
        "--shard-config {params.shard_cfg} --out-train {output.train} --out-eval {output.eval} 2> {log}"


TARGETS["data"] = expand("results/{model}/data/{split}.parquet", model=MODELS, split=["train", "eval"]) + expand(
    "results/{model}/data/tokenmap.json", model=MAPPED_BASES
)

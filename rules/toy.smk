# The embedded toy setup: corpus → tokenizers → tiny Qwen2 models (built only for `source: toy`).

from r1interp.toy.settings import train_settings

TOY = config["toy"]
TOY_TEMPLATES = ["plain", "r1"]


rule toy_corpus:
    output:
        "results/toy/corpus.jsonl",
    params:
        n=TOY["n_problems"],
        seed=TOY["seed"],
    resources:
        **cpu_resources(),
    conda:
        CONDA_ENV
    log:
        "logs/toy_corpus.log",
    benchmark:
        "benchmarks/toy_corpus.tsv"
    shell:
        "r1interp toy corpus --n-problems {params.n} --seed {params.seed} --out {output} 2> {log}"


rule toy_tokenizer:
    input:
        "results/toy/corpus.jsonl",
    output:
        expand("results/toy/tokenizer-{template}/tokenizer.json", template=TOY_TEMPLATES),
    params:
        vocab=TOY["vocab_size"],
        outs=" ".join(f"{t}=results/toy/tokenizer-{t}" for t in TOY_TEMPLATES),
    resources:
        **cpu_resources(),
    conda:
        CONDA_ENV
    log:
        "logs/toy_tokenizer.log",
    benchmark:
        "benchmarks/toy_tokenizer.tsv"
    shell:
        "r1interp toy tokenizer --corpus {input} --vocab-size {params.vocab} --out {params.outs} 2> {log}"


rule toy_model:
    input:
        tokenizer=lambda wc: f"{tokenizer_dir(wc.model)}/tokenizer.json",
        train="results/toy/pretrain/{model}/train.parquet",
        eval="results/toy/pretrain/{model}/eval.parquet",
        init=lambda wc: model_inputs(entry(wc.model)["init_from"]) if entry(wc.model).get("init_from") else [],
    output:
        "results/toy/models/{model}/model.safetensors",
        "results/toy/models/{model}/config.json",
    params:
        tokenizer=lambda wc: tokenizer_dir(wc.model),
        model_cfg=as_json(TOY["model"]),
        train_cfg=lambda wc: as_json(train_settings(TOY["train"], TOY["seed"], bool(entry(wc.model).get("init_from")))),
        init=lambda wc: f"--init-from {model_dir(entry(wc.model)['init_from'])}" if entry(wc.model).get("init_from") else "",
        out=lambda wc, output: str(Path(output[0]).parent),
    threads: 2  # nothing runs beside the toy models; on a loaded machine use --set-threads toy_model=1 (see README)
    resources:
        **cpu_resources(),
    conda:
        CONDA_ENV
    log:
        "logs/toy_model/{model}.log",
    benchmark:
        "benchmarks/toy_model/{model}.tsv"
    shell:
        "r1interp toy model --tokenizer {params.tokenizer} --train {input.train} --eval {input.eval} "
        "--model-config {params.model_cfg} --train-config {params.train_cfg} {params.init} --out {params.out} 2> {log}"


TARGETS["toy"] = [f"{model_dir(m)}/model.safetensors" for m in MODELS if entry(m)["source"] == "toy"]

# Autointerp (Claude): label + score the selected features of each layer, then one label database
# per model. Science: src/r1interp/autointerp/. The API key is read from the environment variable
# ANTHROPIC_API_KEY by the job itself (never a param: params end up in logs and metadata); without
# it no request is made and features get automatic summaries (status "unlabeled").
# Paid calls are journaled in results/{model}/autointerp/journal.sqlite — not an output, so a
# failed or rerun job never deletes it: a rerun repeats no successful call, and spend_cap_usd is
# shared by every layer job of the model. After adding a key to an unlabeled run:
#   snakemake --cores all --forcerun autointerp_label
# autointerp_db also writes results/{model}/autointerp/cost.json: the measured cost of the labels
# (tokens by kind incl. prompt-cache writes/reads, dollars priced from autointerp.prices, dollars
# per labelled feature) for the cost plan.
from r1interp.cluster import snakemake_resources


rule autointerp_label:
    input:
        stats="results/{model}/features/L{layer}.stats.parquet",
        examples="results/{model}/features/L{layer}.examples.parquet",
    output:
        "results/{model}/labels/L{layer}.json",
    params:
        cfg=as_json(stage_params("autointerp")),
        journal="results/{model}/autointerp/journal.sqlite",
    threads: 1
    resources:
        **snakemake_resources(config, "cpu", "autointerp_label"),
    conda:
        CONDA_ENV
    log:
        "logs/autointerp_label/{model}/L{layer}.log",
    benchmark:
        "benchmarks/autointerp_label/{model}/L{layer}.tsv"
    shell:
        "r1interp autointerp label --model {wildcards.model} --layers {wildcards.layer} "
        "--stats {input.stats} --examples {input.examples} --out-json {output} "
        "--journal {params.journal} --params {params.cfg} 2> {log}"


rule autointerp_db:
    input:
        labels=lambda wc: expand("results/{model}/labels/L{layer}.json", model=wc.model, layer=model_layers(wc.model)),
        examples=lambda wc: expand(
            "results/{model}/features/L{layer}.examples.parquet", model=wc.model, layer=model_layers(wc.model)
        ),
    output:
        db="results/{model}/labels.sqlite",
        cost="results/{model}/autointerp/cost.json",
    params:
        layers=lambda wc: " ".join(str(layer) for layer in model_layers(wc.model)),
        cfg=as_json(stage_params("autointerp")),
        journal="results/{model}/autointerp/journal.sqlite",
    threads: 1
    resources:
        **snakemake_resources(config, "cpu", "autointerp_db"),
    conda:
        CONDA_ENV
    log:
        "logs/autointerp_db/{model}.log",
    benchmark:
        "benchmarks/autointerp_db/{model}.tsv"
    shell:
        "r1interp autointerp db --model {wildcards.model} --layers {params.layers} "
        "--labels-json {input.labels} --examples {input.examples} --out {output.db} --params {params.cfg} 2> {log} && "
        "r1interp autointerp cost --model {wildcards.model} --journal {params.journal} "
        "--labels-json {input.labels} --out {output.cost} --params {params.cfg} 2>> {log}"


TARGETS["autointerp"] = expand("results/{model}/labels.sqlite", model=MODELS)

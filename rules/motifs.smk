# Network motifs: per model, the triad census, null ensembles (Z, SP), signed motifs and top FFL
# instances of every attribution graph listed in the graph stage's index; external graph
# collections (config compare.external: {category}/*.json dirs) by the same code.
# Science: src/r1interp/motifs/. Options: config `motifs:` (schemas/stages/motifs.schema.yaml).
from r1interp.cluster import snakemake_resources


wildcard_constraints:
    external="|".join(re.escape(n) for n in EXTERNAL_SETS) or "^$",


rule motifs:
    input:
        index="results/{model}/graphs/index.parquet",
    output:
        profiles="results/{model}/motifs/profiles.parquet",
        instances="results/{model}/motifs/ffl_instances.parquet",
        graphs="results/{model}/motifs/graphs.parquet",
    params:
        graphs=lambda wc, input: str(Path(input.index).parent),
        out=lambda wc, output: str(Path(output.profiles).parent),
        cfg=as_json(stage_params("motifs")),
        seed=config["run"]["seed"],
        n_layers=lambda wc: len(model_layers(wc.model)),
    threads: 2
    resources:
        **snakemake_resources(config, "cpu", "motifs"),
    conda:
        CONDA_ENV
    log:
        "logs/motifs/{model}.log",
    benchmark:
        "benchmarks/motifs/{model}.tsv"
    shell:
        "r1interp motifs profile --index {input.index} --graphs-dir {params.graphs} "
        "--model {wildcards.model} --out-dir {params.out} --params {params.cfg} --seed {params.seed} "
        "--n-layers {params.n_layers} --threads {threads} 2> {log}"


rule motifs_external:
    input:
        lambda wc: EXTERNAL_SETS[wc.external],
    output:
        profiles="results/compare/external/{external}/profiles.parquet",
        instances="results/compare/external/{external}/ffl_instances.parquet",
        graphs="results/compare/external/{external}/graphs.parquet",
    params:
        out="results/compare/external/{external}",
        cfg=as_json(stage_params("motifs")),
        seed=config["run"]["seed"],
    threads: 1
    resources:
        **snakemake_resources(config, "cpu", "motifs_external"),
    conda:
        CONDA_ENV
    log:
        "logs/motifs_external/{external}.log",
    benchmark:
        "benchmarks/motifs_external/{external}.tsv"
    shell:
        "r1interp motifs profile-dir --graph-dir {input} --name {wildcards.external} "
        "--out-dir {params.out} --params {params.cfg} --seed {params.seed} --threads {threads} 2> {log}"


TARGETS["motifs"] = expand(
    "results/{model}/motifs/{f}", model=MODELS, f=["profiles.parquet", "ffl_instances.parquet", "graphs.parquet"]
)

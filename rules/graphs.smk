# Attribution graphs (circuit-tracer 0.5.0): a plan per model (the tokens where decisions are made:
# the answer's content, think tokens that write results; a base is teacher-forced on its reasoner's
# generation at the same positions), one build job per {model}/{prompt}, then one finalize per model
# that writes the viewer-ready dir (`circuit-tracer start-server --graph_file_dir results/{model}/graphs`),
# the index read by the motif stage (missing graphs listed with their reason), and the scores table.
# Science: src/r1interp/graphs/.
from r1interp.cluster import snakemake_resources
from r1interp.prompts import load_prompt_set

GRAPH_PROMPTS = [p.id for p in load_prompt_set(config["run"]["prompt_set"])]


rule graphs_plan:
    input:
        model=lambda wc: model_inputs(wc.model),
        generations=lambda wc: f"results/{stream_model(wc.model)}/generations.parquet",
        token_map=lambda wc: [f"results/{wc.model}/data/tokenmap.json"] if pair_as_base(wc.model) else [],
        stream_model=lambda wc: model_inputs(stream_model(wc.model)),
    output:
        "results/{model}/graphs/plan.parquet",
    params:
        path=lambda wc: model_dir(wc.model),
        teacher_forcing=lambda wc, input: (
            f"--token-map {input.token_map[0]} --stream-model-path {shq(model_dir(stream_model(wc.model)))} "
            f"--stream-name {stream_model(wc.model)}" if input.token_map else ""
        ),
        cfg=as_json(stage_params("graphs")),
    threads: 1
    resources:
        **cpu_resources(),
    conda:
        CONDA_ENV
    log:
        "logs/graphs_plan/{model}.log",
    benchmark:
        "benchmarks/graphs_plan/{model}.tsv"
    shell:
        "r1interp graphs plan --model-path {params.path} --generations {input.generations} "
        "{params.teacher_forcing} --config-json {params.cfg} --out {output} 2> {log}"


rule graphs_build:
    input:
        model=lambda wc: model_inputs(wc.model),
        transcoders=lambda wc: transcoder_files(wc.model),
        plan="results/{model}/graphs/plan.parquet",
    output:
        directory("results/{model}/graphs/build/{prompt}"),
    params:
        path=lambda wc: model_dir(wc.model),
        transcoders=lambda wc, input: str(Path(input.transcoders[0]).parent.parent),
        cfg=as_json(stage_params("graphs")),
        device=config["run"]["device"],
        pin=gpu_pin,
    wildcard_constraints:
        prompt="|".join(re.escape(p) for p in GRAPH_PROMPTS),
    threads: lambda wc: model_threads(wc.model, "graphs_build")
    resources:
        **snakemake_resources(config, "gpu", "graphs_build"),
    conda:
        CONDA_ENV
    log:
        "logs/graphs_build/{model}/{prompt}.log",
    benchmark:
        "benchmarks/graphs_build/{model}/{prompt}.tsv"
    shell:
        "{params.pin}r1interp graphs build --model-path {params.path} --model-name {wildcards.model} "
        "--transcoders-dir {params.transcoders} --plan {input.plan} --prompt-id {wildcards.prompt} "
        "--out-dir {output} --config-json {params.cfg} --device {params.device} 2> {log}"


rule graphs_finalize:
    input:
        builds=lambda wc: expand("results/{model}/graphs/build/{prompt}", model=wc.model, prompt=GRAPH_PROMPTS),
        features=lambda wc: expand(
            "results/{model}/features/L{layer}.{kind}.parquet",
            model=wc.model, layer=model_layers(wc.model), kind=["stats", "examples"],
        ),
        labels="results/{model}/labels.sqlite",  # node clerps: LLM labels or "[auto] ..." summaries
        plan="results/{model}/graphs/plan.parquet",
    output:
        metadata="results/{model}/graphs/graph-metadata.json",
        index="results/{model}/graphs/index.parquet",
        scores="results/{model}/graphs/scores.parquet",
        features=directory("results/{model}/graphs/features"),
    params:
        path=lambda wc: model_dir(wc.model),
        out=lambda wc, output: str(Path(output.metadata).parent),
        features="results/{model}/features",
    threads: 1
    resources:
        **snakemake_resources(config, "cpu", "graphs_finalize"),
    conda:
        CONDA_ENV
    log:
        "logs/graphs_finalize/{model}.log",
    benchmark:
        "benchmarks/graphs_finalize/{model}.tsv"
    shell:
        "r1interp graphs finalize --build-dirs {input.builds} --out-dir {params.out} "
        "--model-name {wildcards.model} --features-dir {params.features} --labels-db {input.labels} "
        "--model-path {params.path} --plan {input.plan} 2> {log}"


TARGETS["graphs"] = expand(
    "results/{model}/graphs/{f}", model=MODELS, f=["plan.parquet", "graph-metadata.json", "index.parquet", "scores.parquet"]
)

# Comparisons of motif profiles: reasoner vs base (paired by prompt), <think> vs answer, correct vs
# incorrect, per-category task profiles, cosine similarity + average-linkage clustering, external
# graph collections; analysis_summary.json and plots. Science: src/r1interp/compare/.
# Needs rules/motifs.smk (motif tables of every model and external collection).
from r1interp.cluster import snakemake_resources

COMPARE_TABLES = [
    "model_vs_base.parquet", "think_vs_answer.parquet", "correct_vs_incorrect.parquet",
    "category_profiles.parquet", "category_tests.parquet", "similarity.parquet", "clustering.parquet",
    "analysis_summary.json",
]
COMPARE_PLOTS = ["zscore_heatmap.png", "sp_heatmap.png", "signed_sp_heatmap.png", "sp_profiles.png", "similarity.png"]
COMPARE_SOURCES = MODELS + list(EXTERNAL_SETS)
# stage tiers in the cascade legends follow the motif stage's n_stages
COMPARE_PARAMS = {"n_stages": stage_params("motifs").get("n_stages", 3), **{k: v for k, v in stage_params("compare").items() if k != "external"}}


rule compare:
    input:
        models=expand("results/{model}/motifs/{f}", model=MODELS, f=["profiles.parquet", "ffl_instances.parquet", "graphs.parquet"]),
        graph_indexes=expand("results/{model}/graphs/index.parquet", model=MODELS),  # prompts without graphs (unfinished traces)
        external=expand("results/compare/external/{e}/profiles.parquet", e=list(EXTERNAL_SETS)),
    output:
        tables=expand("results/compare/{f}", f=COMPARE_TABLES),
        plots=report(expand("results/compare/{f}", f=COMPARE_PLOTS), caption="../report/compare_plots.rst", category="Motifs"),
        cascades=report(expand("results/compare/ffl_cascade_{s}.png", s=COMPARE_SOURCES), caption="../report/ffl_cascade.rst", category="Motifs"),
    params:
        models=" ".join(f"--model {m}=results/{m}/motifs --graph-index {m}=results/{m}/graphs/index.parquet" for m in MODELS),
        external=" ".join(f"--external {e}=results/compare/external/{e}" for e in EXTERNAL_SETS),
        pairs=as_json(config["run"].get("pairs", [])),
        cfg=as_json(COMPARE_PARAMS),
    threads: 1
    resources:
        **snakemake_resources(config, "cpu", "compare"),
    conda:
        CONDA_ENV
    log:
        "logs/compare/compare.log",
    benchmark:
        "benchmarks/compare/compare.tsv"
    shell:
        "r1interp compare run {params.models} {params.external} --pairs {params.pairs} "
        "--params {params.cfg} --out-dir results/compare 2> {log}"


TARGETS["compare"] = (
    expand("results/compare/{f}", f=COMPARE_TABLES + COMPARE_PLOTS)
    + expand("results/compare/ffl_cascade_{s}.png", s=COMPARE_SOURCES)
)

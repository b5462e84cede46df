# The HTML report: every stage's figures (with captions) and key tables in one offline page, and
# an interactive page per attribution graph (results/report/graphs/{model}/{graph}.html, scripts inlined).
# `snakemake --report results/snakemake-report.html` gives Snakemake's own report as well.


rule report:
    input:
        [t for stage, targets in TARGETS.items() if stage != "report" for t in targets],
    output:
        html=report("results/report.html", caption="../report/report_html.rst", category="Report"),
        # its figures (faithfulness.png, dead.png, graph_scores.png, labels.png) and one offline
        # interactive page per graph (graphs/{model}/{graph}.html)
        pages=directory("results/report"),
    params:
        models=" ".join(MODELS),
        pairs=as_json(config["run"].get("pairs", [])),
    resources:
        **cpu_resources(),
    conda:
        CONDA_ENV
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/report.tsv"
    shell:
        "r1interp report build --results results --models {params.models} --pairs {params.pairs} "
        "--out {output.html} 2> {log}"


TARGETS["report"] = ["results/report.html"]

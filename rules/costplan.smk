# The cost plan (src/r1interp/costplan/): tokens, FLOPs, GPU-hours and dollars per stage, computed
# from this run's configuration (and a measured throughput table or label cost when present).
# `r1interp costplan --configfile <real config>` prints the same table without Snakemake.


localrules:
    costplan,


rule costplan:
    input:
        # The plan is computed from the configuration alone, and the rerun policy ignores params: the
        # config files as inputs rerun it when one is edited or another is given (a toy plan left in
        # results/ would otherwise stand for the real run's). `--config KEY=VALUE` needs --forcerun costplan.
        configs=[str(p) for p in workflow.configfiles],
    output:
        json="results/costplan/plan.json",
        md=report("results/costplan/plan.md", caption="../report/costplan.rst", category="Cost plan"),
    params:
        cfg=as_json(config),
    resources:
        **cpu_resources(),
    conda:
        CONDA_ENV
    log:
        "logs/costplan.log",
    shell:
        "r1interp costplan plan --config-json {params.cfg} --out-json {output.json} --out-md {output.md} > {log} 2>&1"


TARGETS["costplan"] = ["results/costplan/plan.json", "results/costplan/plan.md"]

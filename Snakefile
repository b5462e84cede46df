report: "report/workflow.rst"

# r1interp workflow: data → sweep → transcoders → evaluate → features → autointerp → graphs → motifs
# → comparisons → heads/patching/model diff → report. Rules are thin; the science lives in
# src/r1interp/<stage>/; rules/<stage>.smk runs only `r1interp <stage> <command>`.
# Run `snakemake --cores 2` for the toy default; README.md has the rest.

include: "rules/common.smk"
include: "rules/toy.smk"
include: "rules/data.smk"
include: "rules/prompts.smk"
include: "rules/sweep.smk"
include: "rules/transcoders.smk"
include: "rules/evaluate.smk"
include: "rules/features.smk"
include: "rules/autointerp.smk"
include: "rules/graphs.smk"
include: "rules/motifs.smk"
include: "rules/compare.smk"
include: "rules/heads.smk"
include: "rules/patching.smk"
include: "rules/modeldiff.smk"
include: "rules/costplan.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),


# A resources.rules key that names no rule would be ignored without a word (its job keeps the class
# defaults): every key must be a rule of this workflow, or features_collect (one rule per model).
_unknown = sorted(set((config.get("resources") or {}).get("rules") or {}) - {r.name for r in workflow.rules} - {"features_collect"})
if _unknown:
    raise WorkflowError(f"resources.rules: no rule named {_unknown}; the rules are "
                        f"{sorted({r.name for r in workflow.rules if not r.name.startswith('features_collect_')} | {'features_collect'})}")

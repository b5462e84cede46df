# r1interp workflow: data → sweep → train → evaluate → features → autointerp → graphs → motifs
# → comparisons → report. Rules are thin; the science lives in src/r1interp/<stage>/.
# Run `snakemake --cores 2` for the toy default; see README.md for the cluster profile.

include: "rules/common.smk"
include: "rules/toy.smk"
include: "rules/data.smk"
include: "rules/prompts.smk"


rule all:
    default_target: True
    input:
        all_targets(),

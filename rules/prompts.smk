# Generations of the prompt set (greedy, or n seeded samples per prompt; config `generation:`),
# scored by the answer checker: correct | incorrect | unfinished per sample, rates per prompt.
from r1interp.prompts.settings import settings_from_config

try:
    GENERATION = settings_from_config(config)
except ValueError as e:
    raise WorkflowError(str(e))


rule generations:
    input:
        lambda wc: model_inputs(wc.model),
    output:
        generations="results/{model}/generations.parquet",
        correctness="results/{model}/correctness.parquet",
    params:
        path=lambda wc: model_dir(wc.model),
        template=lambda wc: entry(wc.model).get("template", "r1"),
        dtype=lambda wc: entry(wc.model).get("dtype", "auto"),
        prompt_set=config["run"]["prompt_set"],
        instruction=shq(config["data"].get("system_prompt", "")),
        settings=GENERATION.to_flags(),
        device=config["run"]["device"],
        pin=gpu_pin,
    threads: lambda wc: model_threads(wc.model, "generations")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    log:
        "logs/generations/{model}.log",
    benchmark:
        "benchmarks/generations/{model}.tsv"
    shell:
        "{params.pin}r1interp prompts generate --model-path {params.path} --prompt-set {params.prompt_set} "
        "--template {params.template} --instruction {params.instruction} {params.settings} "
        "--device {params.device} --dtype {params.dtype} --out {output.generations} "
        "--correctness-out {output.correctness} 2> {log}"


TARGETS["generations"] = expand("results/{model}/{f}", model=MODELS, f=["generations.parquet", "correctness.parquet"])

# Greedy generations of the prompt set, scored by the answer checker (correct vs incorrect).


rule generations:
    input:
        lambda wc: model_inputs(wc.model),
    output:
        "results/{model}/generations.parquet",
    params:
        path=lambda wc: model_dir(wc.model),
        template=lambda wc: entry(wc.model).get("template", "r1"),
        dtype=lambda wc: entry(wc.model).get("dtype", "auto"),
        prompt_set=config["run"]["prompt_set"],
        instruction=shq(config["data"].get("system_prompt", "")),
        max_new=config["data"].get("max_new_tokens", 96),
        device=config["run"]["device"],
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    log:
        "logs/generations/{model}.log",
    shell:
        "python -m r1interp.prompts generate --model-path {params.path} --prompt-set {params.prompt_set} "
        "--template {params.template} --instruction {params.instruction} --max-new-tokens {params.max_new} "
        "--device {params.device} --dtype {params.dtype} --out {output} 2> {log}"


TARGETS["generations"] = expand("results/{model}/generations.parquet", model=MODELS)

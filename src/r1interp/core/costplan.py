"""The cost plan: tokens, FLOPs, GPU-hours and dollars per stage, computed from the configuration.

Why: a full real run is hours of rented GPUs and API spend; its cost must be known (and kept under
``costplan.budget_usd``) before the run, and recomputed when a setting changes. GPU-hours come from
:mod:`r1interp.core.flops` divided by a throughput: measured (``bench/bench_costplan.py`` on
the named GPU, ``results/costplan/throughput.json``) where present, else a stated utilisation of the
GPU's dense bf16 peak — marked ``estimate`` in every row that uses it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from r1interp.core import flops as F
from r1interp.core.dims import dict_dims, dims_of
from r1interp.core.groups import layer_groups
from r1interp.core.settings import sweep_model

# Dense bf16 peak TFLOP/s (vendor datasheets, without sparsity).
GPUS = {
    "H100 SXM 80GB": 989.0, "H100 PCIe 80GB": 756.0, "H200 141GB": 989.0, "A100 80GB": 312.0,
    "A100 40GB": 312.0, "L40S 48GB": 362.0, "A10G 24GB": 125.0, "L4 24GB": 121.0,
}
# Stated utilisation (fraction of the dense bf16 peak) per kind of work: estimates until measured.
UTILISATION = {
    "train": 0.30,        # bf16 forward + TopK encoder GEMMs, 32k-token steps (sparsify)
    "forward": 0.30,      # large-batch inference passes (evaluation, activation collection)
    "attribution": 0.10,  # circuit-tracer: batch 4 backward passes, Python-side bookkeeping
    "generate": 0.01,     # token-by-token decoding is memory-bound
}
# Start-up of one GPU job (imports, loading the model and 28 transcoders from disk): stated estimate.
JOB_OVERHEAD_HOURS = 0.05
# Seed plan (the project's first budget): USD ranges per category, and which of our stages fall in each.
SEED_USD = {"sweep": (200, 400), "training": (200, 400), "features+autointerp": (80, 300), "graphs": (30, 60)}
SEED_TOTAL = (530, 1180)
SEED_STAGES = {"sweep": ["sweep"], "training": ["train"], "features+autointerp": ["features", "autointerp"], "graphs": ["graphs"]}
# Label cost estimate when no measured cost.json exists: tokens per feature (stated), Claude prices from config.
LABEL_TOKENS = {"explain_in": 1100, "explain_out": 250, "score_in": 1200, "score_out": 100, "score_requests": 2}


@dataclass
class StageCost:
    stage: str
    tokens: float
    flops: float
    kind: str
    gpu_hours: float = 0.0
    usd: float = 0.0
    throughput: str = ""
    notes: str = ""
    jobs: int = 0  # GPU jobs; each pays JOB_OVERHEAD_HOURS of start-up (loading weights, imports)


@dataclass
class Plan:
    gpu: str
    usd_per_gpu_hour: float
    budget_usd: float
    stages: list[StageCost] = field(default_factory=list)
    seed: list[dict] = field(default_factory=list)

    @property
    def total_usd(self) -> float:
        return sum(s.usd for s in self.stages)

    @property
    def total_gpu_hours(self) -> float:
        return sum(s.gpu_hours for s in self.stages)

    def to_dict(self) -> dict:
        return {
            "gpu": self.gpu, "usd_per_gpu_hour": self.usd_per_gpu_hour, "budget_usd": self.budget_usd,
            "stages": [asdict(s) for s in self.stages],
            "total": {"tokens": sum(s.tokens for s in self.stages), "flops": sum(s.flops for s in self.stages),
                      "gpu_hours": self.total_gpu_hours, "usd": self.total_usd},
            "under_budget": self.total_usd <= self.budget_usd,
            "seed_comparison": self.seed,
        }


def load_throughput(path: str | Path | None, gpu: str) -> dict[str, float]:
    """Measured TFLOP/s per kind from bench/bench_costplan.py's JSON, when it was measured on ``gpu``."""
    if path is None or not Path(path).is_file():
        return {}
    data = json.loads(Path(path).read_text())
    if data.get("gpu") != gpu:
        return {}
    return {k: float(v) for k, v in (data.get("tflops") or {}).items()}


def label_usd_per_feature(config: dict, model: str, results: Path = Path("results")) -> tuple[float, str]:
    """Measured ``results/{model}/autointerp/cost.json`` (usd_per_feature), else the stated estimate."""
    ai = config.get("autointerp") or {}
    if (config.get("costplan") or {}).get("usd_per_feature") is not None:
        return float(config["costplan"]["usd_per_feature"]), "costplan.usd_per_feature"
    cost = results / model / "autointerp" / "cost.json"
    if cost.is_file():
        data = json.loads(cost.read_text())
        for key in ("usd_per_feature", "dollars_per_feature"):
            if data.get(key) is not None:
                return float(data[key]), f"measured: {cost}"
    price = (ai.get("prices") or {}).get(ai.get("llm_model", "claude-sonnet-4-5"), {"input": 3.0, "output": 15.0})
    t = LABEL_TOKENS
    n_score = t["score_requests"] if ai.get("scoring", True) else 0
    usd = ((t["explain_in"] + n_score * t["score_in"]) * price["input"] + (t["explain_out"] + n_score * t["score_out"]) * price["output"]) / 1e6
    if ai.get("use_batches"):
        usd *= float(ai.get("batch_price_factor", 0.5))
    return usd, f"estimate: ~{t['explain_in'] + n_score * t['score_in']} input / {t['explain_out'] + n_score * t['score_out']} output tokens per feature, no cache discount"


def pilot_layers(config: dict, n_layers: int) -> list[int]:
    layers = (config.get("sweep") or {}).get("pilot_layers", "auto")
    if layers == "auto":
        return sorted({round(f * (n_layers - 1)) for f in (2 / 27, 14 / 27, 26 / 27)})
    return [int(x) for x in layers]


def stage_costs(config: dict, results: Path = Path("results")) -> list[StageCost]:
    """Tokens and FLOPs per stage for every model of the run (no prices yet)."""
    models = config["run"]["models"]
    data, tc, sweep = config.get("data") or {}, config.get("transcoders") or {}, config.get("sweep") or {}
    stages: list[StageCost] = []

    # pilot sweep: every grid point trains the pilot layers as one group
    sm = sweep_model(config)
    sd = dims_of(config, sm)
    grid = sweep.get("grid") or {}
    points = [(ef, k) for ef in grid.get("expansion_factor", [32]) for k in grid.get("k", [32])
              for _ in grid.get("lr", [None]) for _ in grid.get("skip_connection", [True])]
    pl = pilot_layers(config, sd.n_layers)
    seq = int(tc.get("seq_len", 1024))
    t_sweep = int(sweep.get("train_tokens", 300_000))
    f_sweep = sum(t_sweep * F.grouped_train_flops(sd, [pl], ef * sd.d, k, seq)
                  + int(sweep.get("eval_tokens", 30_000)) * len(pl) * F.eval_layer_flops(sd, ef * sd.d, k, seq) for ef, k in points)
    stages.append(StageCost("sweep", float(t_sweep * len(points)), f_sweep, "train",
                            notes=f"{len(points)} grid points x {t_sweep:,} tokens, pilot layers {pl} of {sm} in one group", jobs=len(points)))

    typical = {m: dict_dims(config, dims_of(config, m).d, worst_case=False) for m in models}
    t_train = int(tc.get("train_tokens", 300_000))
    f_train, n_jobs, layers_total = 0.0, 0, 0
    for m in models:
        d = dims_of(config, m)
        groups = layer_groups(d.n_layers, int(tc.get("group_size", 0)))
        n_jobs += len(groups)
        layers_total += d.n_layers
        f_train += t_train * F.grouped_train_flops(d, groups, typical[m].n_latents, typical[m].k, seq)
    stages.append(StageCost("train", float(t_train * len(models)), f_train, "train",
                            notes=f"{layers_total} layers in {n_jobs} grouped jobs x {t_train:,} tokens per layer", jobs=n_jobs))

    ev = config.get("evaluate") or {}
    t_eval = int(ev.get("max_tokens", 30_000))
    ctx_eval = int(ev.get("max_len") or seq)
    f_eval = sum(dims_of(config, m).n_layers * t_eval * F.eval_layer_flops(dims_of(config, m), typical[m].n_latents, typical[m].k, ctx_eval)
                 for m in models)
    stages.append(StageCost("evaluate", float(t_eval * sum(dims_of(config, m).n_layers for m in models)), f_eval, "forward",
                            notes=f"{t_eval:,} held-out tokens per layer, clean + replaced forward",
                            jobs=sum(dims_of(config, m).n_layers for m in models)))

    fe = config.get("features") or {}
    split_tokens = int(data.get("train_tokens" if fe.get("split") == "train" else "eval_tokens", 30_000))
    t_feat = min(int(fe.get("max_tokens") or split_tokens), split_tokens)
    f_feat = sum(t_feat * F.features_flops(dims_of(config, m), typical[m].n_latents, typical[m].k, int(fe.get("max_seq_len", 1024))) for m in models)
    stages.append(StageCost("features", float(t_feat * len(models)), f_feat, "forward", notes=f"{t_feat:,} tokens per model, every layer encoded", jobs=len(models)))

    ai = config.get("autointerp") or {}
    per_layer = ai.get("max_features_per_layer")
    n_feat = 0
    usd_labels = 0.0
    label_src = ""
    for m in models:
        d = dims_of(config, m)
        n = d.n_layers * (int(per_layer) if per_layer is not None else typical[m].n_latents)
        usd_f, label_src = label_usd_per_feature(config, m, results)
        n_feat += n
        usd_labels += n * usd_f
    stages.append(StageCost("autointerp", 0.0, 0.0, "api", usd=usd_labels, throughput=label_src,
                            notes=f"{n_feat:,} labelled features (Claude {ai.get('llm_model', '?')}, batches {'on' if ai.get('use_batches') else 'off'}); "
                                  f"spend cap {ai.get('spend_cap_usd', '?')} USD per model"))

    from r1interp.core.prompt_sets import load_prompt_set
    from r1interp.guardrails import max_new_tokens, prompt_token_bound

    n_prompts = len(load_prompt_set(config["run"].get("prompt_set", "toy")))
    gen = config.get("generation") or {}
    n_samples = int(gen.get("n_samples", 1))
    new = max_new_tokens(config)
    prompt = min(prompt_token_bound(config), 256)
    f_gen = sum(n_prompts * n_samples * F.generation_flops(dims_of(config, m), prompt, new) for m in models)
    stages.append(StageCost("generations", float(len(models) * n_prompts * n_samples * new), f_gen, "generate",
                            notes=f"{n_prompts} prompts x {n_samples} samples x up to {new} new tokens per model", jobs=len(models)))

    g = config.get("graphs") or {}
    ctx = int(g.get("max_context", 512))
    f_graphs, n_graphs, passes = 0.0, 0, 0
    for m in models:
        d = dims_of(config, m)
        # the answer graph at the end of the trace (<= max_context), think graphs inside it (~half on average)
        for c in [ctx] + [ctx // 2] * int(g.get("think_count", 1)):
            f, passes = F.graph_flops(d, typical[m].n_latents, typical[m].k, c, int(g.get("max_feature_nodes", 512)),
                                      int(g.get("max_n_logits", 10)), int(g.get("batch_size", 64)))
            f_graphs += n_prompts * f
            n_graphs += n_prompts
    per_prompt = 1 + int(g.get("think_count", 1))
    stages.append(StageCost("graphs", float(n_graphs * ctx * (1 + per_prompt) / (2 * per_prompt)), f_graphs, "attribution",
                            notes=f"{n_graphs} graphs ({per_prompt - 1} think + 1 answer per prompt and model, one sample) "
                                  f"at <= {ctx} tokens, {passes} backward passes each",
                            jobs=n_prompts * len(models)))

    hd = config.get("heads") or {}
    heads_ctx = int((hd.get("heads") or {}).get("max_len", 2048))
    pairs = int((hd.get("patching") or {}).get("max_pairs", 32))
    docs = int((hd.get("modeldiff") or {}).get("max_docs", 128))
    md_ctx = int((hd.get("modeldiff") or {}).get("max_len", 1024))
    t_heads = 0.0
    f_heads = 0.0
    for m in models:
        d = dims_of(config, m)
        t = n_prompts * n_samples * heads_ctx + pairs * (2 + 2 * d.n_layers + 12) * heads_ctx + docs * md_ctx
        t_heads += t
        f_heads += t * F.forward_flops(d, heads_ctx // 2)
    stages.append(StageCost("heads+patching+modeldiff", t_heads, f_heads, "forward",
                            notes="head attention over traces, one forward per patched layer and position set, model diff",
                            jobs=3 * len(models)))
    return stages


def build_plan(config: dict, throughput_path: str | Path | None = None, results: Path = Path("results")) -> Plan:
    cp = config.get("costplan") or {}
    gpu = cp.get("gpu_name", "H100 SXM 80GB")
    if gpu not in GPUS:
        raise ValueError(f"costplan.gpu_name: {gpu!r} unknown; allowed: {sorted(GPUS)}")
    if throughput_path is None:
        throughput_path = cp.get("throughput") or results / "costplan" / "throughput.json"
    measured = load_throughput(throughput_path, gpu)
    plan = Plan(gpu=gpu, usd_per_gpu_hour=float(cp.get("usd_per_gpu_hour", 2.5)), budget_usd=float(cp.get("budget_usd", 300)))
    for s in stage_costs(config, results):
        if s.kind != "api":
            if s.kind in measured:
                tflops, s.throughput = measured[s.kind], f"measured {measured[s.kind]:.0f} TFLOP/s ({throughput_path})"
            else:
                tflops = GPUS[gpu] * UTILISATION[s.kind]
                s.throughput = f"estimate: {UTILISATION[s.kind]:.0%} of {GPUS[gpu]:.0f} TFLOP/s peak"
            s.gpu_hours = s.flops / (tflops * 1e12) / 3600 + s.jobs * JOB_OVERHEAD_HOURS
            s.usd = s.gpu_hours * plan.usd_per_gpu_hour
        plan.stages.append(s)
    plan.seed = seed_comparison(plan)
    return plan


def seed_comparison(plan: Plan) -> list[dict]:
    """Our dollars next to the seed plan's range per category, and a sentence on where we differ."""
    by = {s.stage: s for s in plan.stages}
    rows = []
    for cat, (lo, hi) in SEED_USD.items():
        ours = sum(by[s].usd for s in SEED_STAGES[cat] if s in by)
        if ours < lo:
            why = "; ".join(f"{st}: {by[st].notes}" for st in SEED_STAGES[cat] if st in by)  # this config's own sizes
            verdict = f"below the seed range: {why}"
        elif ours > hi:
            verdict = "above the seed range"
        else:
            verdict = "within the seed range"
        rows.append({"category": cat, "ours_usd": round(ours, 2), "seed_usd": f"{lo}-{hi}", "verdict": verdict})
    other = sum(s.usd for s in plan.stages if not any(s.stage in v for v in SEED_STAGES.values()))
    rows.append({"category": "other (evaluation, generations, heads)", "ours_usd": round(other, 2), "seed_usd": "not estimated",
                 "verdict": "not in the seed estimate"})
    rows.append({"category": "total", "ours_usd": round(plan.total_usd, 2), "seed_usd": f"{SEED_TOTAL[0]}-{SEED_TOTAL[1]}",
                 "verdict": "under the target" if plan.total_usd <= plan.budget_usd else "OVER the target"})
    return rows


def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    exp = int(math.floor(math.log10(abs(x))))
    return f"{x / 10**exp:.2f}e{exp}" if abs(exp) >= 4 else f"{x:,.0f}"


def plan_markdown(plan: Plan) -> str:
    lines = [f"# Cost plan on {plan.gpu} at ${plan.usd_per_gpu_hour:.2f}/GPU-hour", "",
             "| stage | tokens | FLOPs | GPU-hours | USD | throughput | what |", "|---|---:|---:|---:|---:|---|---|"]
    for s in plan.stages:
        lines.append(f"| {s.stage} | {_fmt(s.tokens)} | {_fmt(s.flops)} | {s.gpu_hours:.2f} | {s.usd:.2f} | {s.throughput} | {s.notes} |")
    d = plan.to_dict()["total"]
    lines.append(f"| **total** | {_fmt(d['tokens'])} | {_fmt(d['flops'])} | {d['gpu_hours']:.2f} | **{d['usd']:.2f}** | | |")
    verdict = "under" if plan.total_usd <= plan.budget_usd else "OVER"
    gpu_usd = sum(s.usd for s in plan.stages if s.kind != "api")
    lines += ["", f"Total ${plan.total_usd:.0f}: {verdict} the ${plan.budget_usd:.0f} target "
              f"(GPU ${gpu_usd:.0f}, labels ${plan.total_usd - gpu_usd:.0f}). Each GPU job adds {JOB_OVERHEAD_HOURS:g} h of start-up. "
              f"Sensitivity: at a third of the stated utilisation the GPU part would be ~${3 * gpu_usd:.0f} "
              f"(total ~${plan.total_usd + 2 * gpu_usd:.0f}).", "",
              "## Next to the seed estimate ($530-1,180)", "", "| category | ours (USD) | seed (USD) | where it differs |", "|---|---:|---:|---|"]
    lines += [f"| {r['category']} | {r['ours_usd']:.2f} | {r['seed_usd']} | {r['verdict']} |" for r in plan.seed]
    lines += ["", "GPU rows marked *estimate* use a stated utilisation of the GPU's dense bf16 peak "
              "(r1interp.core.costplan.UTILISATION) until `python bench/bench_costplan.py` measures it on that GPU; "
              "the FLOP model is written out in r1interp.core.flops.", ""]
    return "\n".join(lines)


def plan_tables(plan_json: dict) -> list[tuple[str, "object"]]:
    """(caption, DataFrame) pairs of a written plan.json, for the HTML report."""
    import pandas as pd

    stages = pd.DataFrame(plan_json["stages"])[["stage", "tokens", "flops", "gpu_hours", "usd", "throughput", "notes"]]
    t = plan_json["total"]
    stages.loc[len(stages)] = ["total", t["tokens"], t["flops"], t["gpu_hours"], t["usd"], "", ""]
    return [
        (f"Per stage on {plan_json['gpu']} at ${plan_json['usd_per_gpu_hour']:.2f}/GPU-hour (target ${plan_json['budget_usd']:.0f})", stages),
        ("Next to the seed estimate ($530-1,180)", pd.DataFrame(plan_json["seed_comparison"])),
    ]

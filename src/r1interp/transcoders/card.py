"""Hugging Face model card (``README.md`` with YAML front matter) for a model's transcoders.

Why a card per model: the transcoder directory is meant to be uploadable as-is to the Hub
(``huggingface-cli upload <repo> results/<model>/transcoders``); the card states what was
trained, how faithful it is (honestly, flags included), and how to load it three ways.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import yaml

from r1interp.artifacts.markdown import markdown_table
from r1interp.core.targets import Targets

TAGS = ["sparsify", "transcoder", "skip-transcoder", "sparse-autoencoder", "mechanistic-interpretability", "circuit-tracer"]


def front_matter(base_model: str, license: str) -> str:
    meta = {"base_model": base_model, "library_name": "sparsify", "license": license, "tags": TAGS}
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n"


def _settings_table(settings: dict[str, Any], extra: dict[str, Any]) -> str:
    rows = {**settings, **extra}
    return "| setting | value |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows.items())


def _sources_table(sources: dict[int, dict]) -> str:
    """One row per training run the layers' weights come from (a group, or a layer retrained alone),
    with the settings in which the runs differ: the card must not give one run's settings for all."""
    runs: dict[str, dict] = {}
    for layer, m in sorted(sources.items()):
        runs.setdefault(str(m.get("dir", m["layers"])), {**m, "used": []})["used"].append(layer)
    keys = sorted({k for m in runs.values() for k in m["settings"]})
    differ = [k for k in keys if len({repr(m["settings"].get(k)) for m in runs.values()}) > 1]
    head = "| weights from | layers | training tokens per layer |" + "".join(f" {k} |" for k in differ)
    rows = "".join(f"| {d} | {m['used']} | {m['tokens']} |" + "".join(f" {m['settings'].get(k)} |" for k in differ) + "\n"
                   for d, m in runs.items())
    return head + "\n|" + "---|" * (3 + len(differ)) + "\n" + rows


def model_card(
    model_name: str,
    base_model: str,
    license: str,
    layers_df: pd.DataFrame,
    full: dict,
    sources: dict[int, dict],
    selection: dict,
    d_model: int,
    targets: Targets = Targets(),
    export_dtype: str = "keep",
) -> str:
    """Render the card text. ``sources``: each layer's training manifest (with its ``dir``), so a
    layer retrained alone shows its own settings; ``targets``: the ones ``layers_df`` was flagged
    against; ``export_dtype``: the circuit-tracer export's (``keep`` = the trained weights')."""
    if not sources:
        raise ValueError("no training manifests")
    runs = list({str(m.get("dir", m["layers"])): m for m in sources.values()}.values())
    settings = runs[0]["settings"]
    uniform = all(m["settings"] == settings for m in runs) and len({m["tokens"] for m in runs}) == 1
    n_layers = len(layers_df)
    num_latents = int(layers_df["num_latents"].iloc[0]) if n_layers else 0
    streams = sorted({str(m.get("stream_sha256")) for m in runs})
    mean_ce = float(layers_df["ce_increase"].mean())
    failing = layers_df[~layers_df["flag"].isin(["ok", "ideal"])]["layer"].tolist()
    pick = f"{selection.get('point', '?')} (rule: {selection.get('rule', '?')})"
    if selection.get("fallback"):
        pick += (" — a FALLBACK: the rule could not pick as configured (no healthy point, or none under its CE target); "
                 "see results/sweep/selected.yaml")
    extra = {
        "num_latents": num_latents,
        "d_in (hidden size)": d_model,
        "hookpoints": f"layers.{{0..{n_layers - 1}}}.mlp (post-norm MLP input → MLP output)",
        "activation": "topk (relu then top-k)",
        "transcode / skip_connection": f"True / {settings['skip_connection']}",
        "training tokens per layer": ", ".join(str(t) for t in sorted({m["tokens"] for m in runs})),
        "training token stream (sha256)": ", ".join(streams),
        "selected by sweep": pick,
    }
    settings_text = (_settings_table(settings, extra) + "\nLayers and the run that trained them (one forward per batch per run):\n\n"
                     + _sources_table(sources)) if uniform else (
        _settings_table({}, extra) + "\nThe layers were not all trained with the same settings (a layer retrained alone "
        "keeps its own): the runs, and the settings in which they differ.\n\n" + _sources_table(sources)
        + "\nSettings the runs share:\n\n" + _settings_table({k: v for k, v in settings.items()
                                                                   if all(m["settings"].get(k) == v for m in runs)}, {}))
    n_dead_tokens = int(layers_df["n_mlp_tokens"].iloc[0]) if n_layers and "n_mlp_tokens" in layers_df else 0
    export_note = ("in the trained weights' dtype" if export_dtype == "keep" else
                   f"rounded to {export_dtype} (the faithfulness numbers above are of the full-precision `L*/` weights; "
                   "rounding moves outputs and which latents win the top-k on some tokens)")
    per_layer = markdown_table(
        layers_df, ["layer", "ce_increase", "ce_increase_zero", "ce_recovered", "kl", "fvu", "l0", "dead_pct",
                    "ce_increase_think", "ce_increase_answer", "flag"]
    )
    full_rows = "".join(
        f"| {k} | {full[k]:.4f} |\n" for k in ("ce_orig", "ce_replaced", "ce_increase", "kl", "top1_agreement")
    )
    return f"""{front_matter(base_model, license)}
# Skip transcoders for `{model_name}`

TopK skip transcoders (Paulo, Shabalin & Belrose 2025, arXiv:2501.18823) for **every MLP** of
`{base_model}`, trained with [EleutherAI sparsify](https://github.com/EleutherAI/sparsify).
Each transcoder reads the post-norm MLP input `x` of layer L and predicts that MLP's output:

```
acts = topk(relu(x @ W_enc.T + b_enc), k)
y    = acts @ W_dec + b_dec + x @ W_skip.T
```

## Training configuration

{settings_text}
## Faithfulness (held-out tokens)

Targets: CE increase < {targets.ce:g} nats per layer (ideal < {targets.ce_ideal:g}), dead latents < {targets.dead_pct:g}%.
Mean per-layer CE increase: **{mean_ce:.4f} nats**. Layers failing a target: {failing or 'none'}.

### Per layer (that layer's MLP replaced, everything else original)

{per_layer}
`ce_increase_zero` is the CE increase when that MLP is deleted instead (the reference scale);
`ce_recovered` = 1 − ce_increase / ce_increase_zero. `dead_pct` counts latents that never fired on the {n_dead_tokens} evaluation tokens.

### All layers replaced at once

| metric | value |
|---|---|
{full_rows}| n_tokens | {full['n_tokens']} |

## Files

- `L{{layer}}/cfg.json`, `L{{layer}}/sae.safetensors` — sparsify checkpoint layout
  (`encoder.weight [n_latents, d]`, `encoder.bias`, `W_dec [n_latents, d]`, `b_dec`, `W_skip [d, d]`).
- `circuit_tracer/` — the same weights renamed for circuit-tracer (`W_enc`, `b_enc`, `W_dec`, `b_dec`,
  `W_skip`), {export_note}, with a `config.yaml` (`feature_input_hook: mlp.hook_in`, `feature_output_hook: mlp.hook_out`).

## How to load

```python
# sparsify
from sparsify import SparseCoder
tc = SparseCoder.load_from_disk("L3")          # or SparseCoder.load_from_hub(repo, hookpoint="L3")
y = tc(x).sae_out                              # x: post-norm input of model.model.layers[3].mlp

# r1interp (same forward, plain torch)
from r1interp.artifacts.transcoder import load_transcoder
y = load_transcoder("L3")(x)

# circuit-tracer TranscoderSet with the exact relu→topk activation
from r1interp.artifacts.transcoder import load_transcoder_set
transcoders = load_transcoder_set("circuit_tracer")
```

Note: circuit-tracer's own loader would apply plain ReLU (no top-k); use the loader above or set the
activation to relu-then-topk(k) yourself.
"""

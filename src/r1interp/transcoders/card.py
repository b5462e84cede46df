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

TAGS = ["sparsify", "transcoder", "skip-transcoder", "sparse-autoencoder", "mechanistic-interpretability", "circuit-tracer"]


def front_matter(base_model: str, license: str) -> str:
    meta = {"base_model": base_model, "library_name": "sparsify", "license": license, "tags": TAGS}
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n"


def _settings_table(settings: dict[str, Any], extra: dict[str, Any]) -> str:
    rows = {**settings, **extra}
    return "| setting | value |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows.items())


def model_card(
    model_name: str,
    base_model: str,
    license: str,
    layers_df: pd.DataFrame,
    full: dict,
    manifests: list[dict],
    selection: dict,
    d_model: int,
) -> str:
    """Render the card text."""
    if not manifests:
        raise ValueError("no training manifests")
    settings = manifests[0]["settings"]
    n_layers = len(layers_df)
    num_latents = int(layers_df["num_latents"].iloc[0]) if n_layers else 0
    groups = [m["layers"] for m in sorted(manifests, key=lambda m: m["layers"][0])]
    tokens = sorted({m["tokens"] for m in manifests})
    streams = sorted({str(m.get("stream_sha256")) for m in manifests})
    mean_ce = float(layers_df["ce_increase"].mean())
    failing = layers_df[~layers_df["flag"].isin(["ok", "ideal"])]["layer"].tolist()
    extra = {
        "num_latents": num_latents,
        "d_in (hidden size)": d_model,
        "hookpoints": f"layers.{{0..{n_layers - 1}}}.mlp (post-norm MLP input → MLP output)",
        "activation": "topk (relu then top-k)",
        "transcode / skip_connection": f"True / {settings['skip_connection']}",
        "training tokens per layer": ", ".join(str(t) for t in tokens),
        "training token stream (sha256)": ", ".join(streams),
        "layer groups (one forward per batch)": str(groups),
        "selected by sweep": f"{selection.get('point', '?')} (rule: {selection.get('rule', '?')})",
    }
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

{_settings_table(settings, extra)}
## Faithfulness (held-out tokens)

Targets: CE increase < 0.1 nats per layer (ideal < 0.05), dead latents < 10%.
Mean per-layer CE increase: **{mean_ce:.4f} nats**. Layers failing a target: {failing or 'none'}.

### Per layer (that layer's MLP replaced, everything else original)

{per_layer}
`ce_increase_zero` is the CE increase when that MLP is deleted instead (the reference scale);
`ce_recovered` = 1 − ce_increase / ce_increase_zero. `dead_pct` counts latents that never fired on the {int(layers_df['n_tokens'].iloc[0]) if n_layers else 0} evaluation tokens.

### All layers replaced at once

| metric | value |
|---|---|
{full_rows}| n_tokens | {full['n_tokens']} |

## Files

- `L{{layer}}/cfg.json`, `L{{layer}}/sae.safetensors` — sparsify checkpoint layout
  (`encoder.weight [n_latents, d]`, `encoder.bias`, `W_dec [n_latents, d]`, `b_dec`, `W_skip [d, d]`).
- `circuit_tracer/` — the same weights renamed for circuit-tracer (`W_enc`, `b_enc`, `W_dec`, `b_dec`,
  `W_skip`) with a `config.yaml` (`feature_input_hook: mlp.hook_in`, `feature_output_hook: mlp.hook_out`).

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

"""Autointerp: label transcoder features with Claude, score the labels, build the label DB.

Stage contract (see docs/architecture.md):

Inputs, per model and layer (written by ``r1interp.features``):
  ``results/{model}/features/L{layer}.stats.parquet`` (one row per feature: ``feature_id``,
  ``frac_active`` [+ ``frac_active_{prompt,think,answer,other}``], ``max_act``, ``mean_act``,
  ``top_logits``, ``bottom_logits``, ...) and ``L{layer}.examples.parquet`` (``feature_id, kind``
  ∈ top|quantile|negative, ``quantile_bin, rank, doc_id, start, token_ids, tokens, acts, max_idx,
  act_max``).

Outputs:
  ``results/{model}/labels/L{layer}.json`` — a list, one record per selected feature (selected
  features without any activating example are left out), sorted by ``feature_idx``::

      {feature_idx, layer, label, confidence, explanation, class, status, label_source,
       detection, fuzzing, model_name, prompt_version, auto_summary, frac_active,
       held_out_scoring, n_explain_examples, task_status: {explain, detection, fuzzing}, error}

  ``status``: ``labeled`` (LLM label) | ``unlabeled`` (no API key) | ``skipped_budget`` (spend
  cap reached) | ``failed`` (retries exhausted; ``error`` says why). ``label_source``: ``llm`` or
  ``auto-summary``; ``label``/``confidence``/``explanation``/``class``/``model_name``/
  ``prompt_version`` are null unless ``llm``. ``class`` ∈ token-level | domain | reasoning |
  uninterpretable. ``detection``/``fuzzing``: balanced accuracy in [0, 1] or null.
  ``auto_summary`` (always present) lists the tokens the feature fires on and its top logits.

  ``results/{model}/labels.sqlite`` — see :mod:`r1interp.autointerp.db` (Goodfire-R1-compatible
  ``autointerp``, ``tokens``, ``activations`` tables plus a ``layer`` column).

  ``results/{model}/autointerp/journal.sqlite`` — durable record of paid calls
  (:mod:`r1interp.autointerp.journal`); not a Snakemake output, so it survives reruns.

  ``results/{model}/autointerp/cost.json`` — measured cost of the labels (tokens by kind incl.
  prompt-cache writes/reads, dollars priced from ``prices``, dollars per labelled feature); see
  :mod:`r1interp.autointerp.cost`.

Readers: :func:`r1interp.artifacts.labels.load_labels` (``(layer, feature_id) → label``, for graph
clerps), :func:`r1interp.artifacts.labels.load_label_records`, and :func:`read_cost` (for the cost plan).
"""

from .config import CLASSES, AutointerpConfig
from .cost import read_cost
from .db import build_db

__all__ = ["AutointerpConfig", "CLASSES", "build_db", "read_cost"]

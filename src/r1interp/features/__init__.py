"""Features stage: one streaming model pass → per-feature statistics and example windows.

``python -m r1interp.features collect --model-path M --shards S.parquet --transcoders-dir D
--layers 0 1 ... --out-dir results/{model}/features [--device auto] [--dtype auto] [--params JSON]``
runs the model once over the token shards with a pre-hook on every listed layer's ``mlp`` (the
post-norm MLP input the skip transcoders encode), folds each layer's TopK activations into
fixed-size streaming state (memory never grows with the token count; see
:func:`r1interp.features.config.state_bytes_per_feature`) and writes, per layer:

``L{layer}.stats.parquet`` — one row per feature:

=====================  ==============  =======================================================
column                 type            meaning
=====================  ==============  =======================================================
feature_id             int64           latent index
frac_active            float64         active tokens / counted tokens
frac_active_prompt     float64         active prompt tokens / prompt tokens (NaN: no such tokens)
frac_active_think      float64         same for ``<think>`` … ``</think>`` tokens
frac_active_answer     float64         same for answer tokens
frac_active_other      float64         same for segment code 0 (scaffolding, general text)
max_act                float64         maximum activation (0 for a dead feature)
mean_act               float64         mean over active tokens (0 for a dead feature)
quantiles              list<float64>   quantiles of the active activations at ``quantiles`` probs
hist_counts            list<int64>     ``hist_bins`` counts of active activations
hist_edges             list<float64>   ``hist_bins + 1`` edges: ``[0, log2-grid edges …]``; slot 0
                                       also holds everything below its upper edge; all 0 if dead
top_logits             list<string>    logit-lens tokens pushed up most (best first)
top_logit_values       list<float64>   their logits ``(W_dec[f] ⊙ g_final) · W_U[t]``
bottom_logits          list<string>    tokens pushed down most (most negative first)
bottom_logit_values    list<float64>
=====================  ==============  =======================================================

``L{layer}.examples.parquet`` — rows ordered by feature, kind (top, quantile, negative),
quantile_bin, rank:

=============  ============  ==================================================================
feature_id     int64
kind           string        ``top`` (best token per chunk, highest first), ``quantile``
                             (uniform sample of active tokens stratified into ``quantile_bins``
                             equal-probability bins), ``negative`` (feature zero on every token)
quantile_bin   int32         0 = lowest … ``quantile_bins-1`` = highest; -1 unless quantile
rank           int32         0, 1, … within (feature, kind, quantile_bin); quantile examples are
                             ranked by activation inside their bin
doc_id         int64         the shard's ``doc_id``
start          int32         token offset of the window in the document
token_ids      list<int32>   window tokens (``context_before`` + anchor + ``context_after``,
                             clipped to the chunk and to counted positions)
tokens         list<string>  each token decoded alone by the model's tokenizer
acts           list<float32> this feature's activation on each window token
max_idx        int32         index in the window of the anchor token: the max token (top), the
                             sampled token (quantile); -1 for negatives
act_max        float64       the anchor's activation (exact float32 value); 0 for negatives
=============  ============  ==================================================================

``summary.json`` — tokens processed and counted (per segment), documents, chunks, seconds,
tokens/s, per layer ``n_features``, ``dead_fraction``, ``mean_l0``, and the config used.

Counting rules: documents longer than ``max_seq_len`` are cut into chunks; the first
``skip_first_tokens`` positions of each chunk (BOS / attention sink) count nowhere — not in
frequencies, not in examples, not in windows. Activation means the TopK output is > 0.
"""

from r1interp.features.collect import PassResult, collect, layer_tables, run_pass
from r1interp.features.config import FeatureConfig, state_bytes_per_feature
from r1interp.features.corpus import Corpus

__all__ = ["Corpus", "FeatureConfig", "PassResult", "collect", "layer_tables", "run_pass", "state_bytes_per_feature"]

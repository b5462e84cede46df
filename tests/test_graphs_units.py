"""Fast checks of the graphs stage's pure parts: phases, ids, activation, viewer maths, labels, config."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from r1interp.data.segments import ANSWER, OTHER, PROMPT, THINK
from r1interp.graphs.config import GraphsConfig
from r1interp.graphs.export import cantor, cantor_unpair, check_node_ids, graph_to_model, validate_graph_json
from r1interp.graphs.phases import ContextTooLongError, PhasePosition, check_context, phase_positions
from r1interp.graphs.viewer import linear_histogram, percentiles

# Hand-checked generation: 20 tokens, prompt = 0..5 with "<think>" at 4 and "\n" at 5 (template),
# generated trace 6..13, "</think>" at 14, blank "\n\n" tokens at 15-16, answer 17-18, EOS at 19.
IDS = list(range(100, 120))
SEG = [OTHER, PROMPT, PROMPT, PROMPT] + [THINK] * 11 + [ANSWER] * 4 + [OTHER]
BLANK = {115, 116}


def test_phase_positions_hand_checked():
    got = phase_positions(IDS, 6, SEG, think_start=4, think_end=14, needs_reasoning=True, blank_ids=BLANK)
    # trace of generated tokens = 6..13 (8 tokens) → middle 6 + 8//2 = 10; first non-blank answer token = 17
    assert got == [PhasePosition("think", 10), PhasePosition("answer", 17)]
    # without blank ids the answer starts at the first ANSWER token, the blank 15
    assert phase_positions(IDS, 6, SEG, 4, 14, True)[1] == PhasePosition("answer", 15)
    # the fraction moves the think graph inside the trace, never onto </think>
    assert phase_positions(IDS, 6, SEG, 4, 14, True, BLANK, think_fraction=0.0)[0].position == 6
    assert phase_positions(IDS, 6, SEG, 4, 14, True, BLANK, think_fraction=0.99)[0].position == 13


def test_phase_positions_fallbacks():
    # no reasoning needed → one graph at the end of the prompt
    assert phase_positions(IDS, 6, SEG, 4, 14, needs_reasoning=False) == [PhasePosition("full", 6)]
    # no <think> at all → full
    assert phase_positions(IDS, 6, [PROMPT] * 6 + [ANSWER] * 14, -1, -1, True) == [PhasePosition("full", 6)]
    # unclosed trace (generation cut off): think graph over 6..19, no answer graph
    assert phase_positions(IDS, 6, SEG[:15] + [THINK] * 5, 4, -1, True) == [PhasePosition("think", 13)]
    # </think> right after the prompt and nothing after it → nothing to explain in a phase → full
    assert phase_positions(IDS[:8], 6, SEG[:6] + [THINK, OTHER], 4, 6, True) == [PhasePosition("full", 6)]
    with pytest.raises(ValueError, match="segment"):
        phase_positions(IDS, 6, SEG[:-1], 4, 14, True)


def test_prompt_too_long_names_prompt_and_lengths():
    positions = phase_positions(IDS, 6, SEG, 4, 14, True, BLANK)
    check_context("p1", 6, 20, positions, max_context=17)  # 17 input tokens fit exactly
    with pytest.raises(ContextTooLongError) as e:
        check_context("p1", 6, 20, positions, max_context=16)
    msg = str(e.value)
    assert "'p1'" in msg and "17 input tokens" in msg and "prompt 6 + 11 generated" in msg and "max_context=16" in msg


def test_cantor_ids_match_circuit_tracer():
    from circuit_tracer.frontend.graph_models import Node, _cantor_pairing

    for layer in range(30):
        for feat in (0, 1, 7, 1000, 49151):
            z = cantor(layer, feat)
            assert z == _cantor_pairing(layer, feat)
            assert Node.feature_node(layer, 3, feat).feature == z
            assert cantor_unpair(z) == (layer, feat)
    assert len({cantor(l, f) for l in range(28) for f in range(2000)}) == 28 * 2000


def test_relu_topk_equals_skip_transcoder_encode():
    from r1interp.graphs.adapter import ReluTopK, to_single_layer
    from r1interp.transcoders.io import SkipTranscoder

    g = torch.Generator().manual_seed(0)
    d, n, k = 16, 40, 5
    tc = SkipTranscoder(torch.randn(n, d, generator=g) / 4, torch.randn(n, generator=g) - 2.0, torch.randn(n, d, generator=g),
                        torch.randn(d, generator=g), torch.randn(d, d, generator=g), k)
    x = torch.randn(4, 16, d, generator=g)
    slt = to_single_layer(tc, 0)
    ref = tc.encode(x)
    assert (slt.activation_function.__class__ is ReluTopK) and torch.allclose(slt.encode(x), ref, atol=1e-5)
    n_pos = (x @ tc.W_enc.T + tc.b_enc > 0).sum(-1)
    assert (n_pos > k).any() and (n_pos < k).any()  # both TopK truncation and fewer-than-k-positive tokens occur
    assert torch.equal((ref > 0).sum(-1), n_pos.clamp(max=k))
    # circuit-tracer's own TopK keeps negative pre-activations when fewer than k are positive: not ours
    from circuit_tracer.transcoder.activation_functions import TopK

    pre = x @ tc.W_enc.T + tc.b_enc
    assert (TopK(k)(pre) < 0).any() and not (slt.encode(x) < 0).any()
    assert torch.allclose(slt.decode(ref, x), tc(x), atol=1e-4)  # decoder + skip agree too


def _tokenizer():
    from r1interp.toy.tokenizer import train_tokenizer

    return train_tokenizer(["What is 12 + 34? The answer is 46."] * 4, 280)


def test_error_node_ids_do_not_collide_with_layer0_features():
    """Stock circuit-tracer names error (layer 2, pos 1) '0_2_1', the id of layer-0 feature 2 at pos 1."""
    from circuit_tracer.frontend.graph_models import Node
    from circuit_tracer.graph import Graph, prune_graph
    from circuit_tracer.utils.create_graph_files import create_nodes, create_used_nodes_and_edges
    from circuit_tracer.attribution.targets import LogitTarget
    from circuit_tracer.utils.tl_nnsight_mapping import UnifiedConfig

    assert Node.error_node(2, 1).node_id == Node.feature_node(0, 1, 2).node_id == "0_2_1"
    tok = _tokenizer()
    # nodes: feature (layer 0, pos 1, feat 2) | errors layer0 pos0,1 layer1 pos0,1 layer2 pos0,1 | tokens 0,1 | logit
    n = 1 + 6 + 2 + 1
    adj = torch.zeros(n, n)
    adj[9, 0] = 1.0  # feature → logit
    adj[9, 6] = 1.0  # error (layer 2, pos 1) → logit
    adj[0, 8] = 1.0  # token 1 → feature
    cfg = UnifiedConfig(n_layers=3, d_model=4, d_head=2, n_heads=2, d_mlp=8, d_vocab=len(tok), tokenizer_name="toy",
                        model_name="toy", original_architecture="Qwen2ForCausalLM")
    graph = Graph(input_string="ab", input_tokens=torch.tensor([tok.bos_token_id, 40]), active_features=torch.tensor([[0, 1, 2]]),
                  adjacency_matrix=adj, cfg=cfg, selected_features=torch.tensor([0]), activation_values=torch.tensor([1.5]),
                  logit_targets=[LogitTarget("x", 41)], logit_probabilities=torch.tensor([1.0]), scan="toy")
    node_mask, edge_mask, scores = prune_graph(graph, 0.8, 0.98)
    stock_nodes, stock_links = create_used_nodes_and_edges(graph, create_nodes(graph, node_mask, tok, scores), edge_mask)
    with pytest.raises(ValueError, match="duplicate node ids"):
        check_node_ids([s.model_dump() for s in stock_nodes], stock_links)

    data = json.loads(graph_to_model(graph, tok, "g", "./data/features/toy", 0.8, 0.98).model_dump_json())
    ids = [nd["node_id"] for nd in data["nodes"]]
    assert "0_2_1" in ids and "err_2_1" in ids and len(ids) == len(set(ids))
    assert {(e["source"], e["target"]) for e in data["links"]} == {("0_2_1", "4_41_1"), ("err_2_1", "4_41_1"), ("E_40_1", "0_2_1")}
    validate_graph_json(data)


def test_viewer_histogram_and_percentiles():
    edges = np.array([0.0, 1.0, 2.0, 4.0])  # log-like grid
    counts = np.array([10, 10, 20])
    hist, lo, hi = linear_histogram(counts, edges, max_act=4.0, n_bins=4)  # equal-width bins of width 1
    assert (lo, hi) == (0.0, 4.0) and np.allclose(hist, [10, 10, 10, 10])
    q = percentiles(counts, edges, max_act=4.0)
    assert len(q) == 100 and q[24] == pytest.approx(1.0) and q[49] == pytest.approx(2.0) and q[99] == pytest.approx(4.0)
    assert np.all(np.diff(q) >= 0) and percentiles(np.zeros(3), edges, 1.0) == []
    # the true maximum caps the top edge: the 100th percentile is max_act, not the grid edge
    assert percentiles(counts, edges, max_act=3.0)[99] == pytest.approx(3.0)


def test_config_validation_names_key():
    assert GraphsConfig.from_dict({"node_threshold": 0.7}).node_threshold == 0.7
    with pytest.raises(ValueError, match="max_nodes"):
        GraphsConfig.from_dict({"max_nodes": 3})
    with pytest.raises(ValueError, match="edge_threshold"):
        GraphsConfig(edge_threshold=1.5)
    with pytest.raises(ValueError, match="dtype"):
        GraphsConfig(dtype="int8")


def test_schema_defaults_match_dataclass():
    from pathlib import Path

    import yaml

    schema = yaml.safe_load((Path(__file__).parents[1] / "schemas/stages/graphs.schema.yaml").read_text())
    assert schema["additionalProperties"] is False
    defaults = {k: v["default"] for k, v in schema["properties"].items()}
    assert defaults == GraphsConfig().to_dict()

"""Fast checks of the graphs stage's pure parts: phases, ids, activation, viewer maths, labels, config."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from r1interp.graphs.config import GraphsConfig
from r1interp.graphs.export import cantor, cantor_unpair, check_node_ids, graph_to_model, validate_graph_json
from r1interp.graphs.phases import GenerationSpan, GraphTarget, check_context, plan_targets, think_targets
from r1interp.graphs.viewer import linear_histogram, percentiles

# Hand-checked generation as token texts: prompt 0..5 ("<think>" at 4), trace 6..17, "</think>" at 18,
# answer 19..28, EOS at 29. Digits are single tokens, as in Qwen's tokenizer.
PIECES = (["<bos>", "What", " is", "?", "<think>", "\n"]
          + ["Add", ":", " 4", " +", " 5", " =", " ", "9", ".", " So", " =", "1"]
          + ["</think>"]
          + ["\n\n", "The", " answer", " is", " \\", "boxed", "{", "7", "4", "}."]
          + ["<eos>"])
SPAN = GenerationSpan(n_prompt=6, think_start=4, think_end=18, n_total=len(PIECES), eos_at=29)


def test_answer_graph_targets_the_boxed_content_not_boilerplate():
    targets, reason = plan_targets(PIECES, SPAN, "74", ["result", "step"], 2)
    answer = [t for t in targets if t.phase == "answer"]
    assert answer == [GraphTarget("answer", 26, "boxed")] and PIECES[26] == "7" and reason == ""
    # today's rule explained "The" (the first non-blank answer token, index 20): never again
    assert all(PIECES[t.position] not in ("The", "\n\n") for t in targets)


def test_answer_without_a_box_uses_the_expected_text():
    pieces = PIECES[:19] + ["\n\n", "It", " is", " 7", "4", "."] + ["<eos>"]
    span = GenerationSpan(6, 4, 18, len(pieces), eos_at=len(pieces) - 1)
    targets, _ = plan_targets(pieces, span, "74", ["result"], 1)
    assert targets[-1] == GraphTarget("answer", 22, "expected")
    targets, reason = plan_targets(pieces, span, "99", ["result"], 1)
    assert [t.phase for t in targets] == ["think"] and "no answer graph" in reason


@pytest.mark.parametrize("answer,expected,target", [
    ("So \\boxed{\\text{Austin}}.", "Austin", "A"),        # past LaTeX wrappers to the answer itself
    ("\\boxed{\\frac{1}{2}}", "1/2", "1"),                # a fraction: its numerator
    ("\\boxed{\\$27}", "27", "2"),
    ("\\boxed{\\boxed{5}}", "5", "5"),
    ("First guess \\boxed{3}. Wait, recheck: \\boxed{5}", "5", "5"),  # the box grading reads: the last
    ("\\boxed{} so \\boxed{7}", "7", "7"),                 # an empty box is not the answer
    ("\\boxed{\\mathit{12}}", "12", "1"),                 # font and box commands are wrappers too
    ("\\boxed{\\emph{12}}", "12", "1"),
    ("\\boxed{\\mbox{12}}", "12", "1"),
    ("\\boxed{\\rm 12}", "12", "1"),
])
def test_the_answer_graph_explains_the_answer_grading_reads(answer, expected, target):
    from r1interp.core.answers import answer_box
    from r1interp.graphs.phases import answer_target
    from r1interp.prompts.checker import check_answer

    pieces = list(answer)  # one character per token: the position is the character
    t = answer_target(pieces, 0, len(pieces), expected)
    assert t is not None and t.rule == "boxed" and pieces[t.position] == target
    start, end = answer_box(answer)  # the box the checker grades ...
    assert start <= t.position < end and check_answer(answer, expected, "text" if target == "A" else "numeric")


def test_without_a_box_the_expected_answer_is_found_as_a_whole_word_and_last():
    from r1interp.graphs.phases import answer_target

    text = "After 18 days... no: the snail escapes on day 8."
    t = answer_target(list(text), 0, len(text), "8")
    assert t.rule == "expected" and t.position == text.rindex("8") and text[t.position - 1] == " "
    text = "Yes, all bloops are lazzies."
    assert answer_target(list(text), 0, len(text), "yes").position == 0  # any case


def test_result_rule_skips_comparisons_and_reads_fractions():
    text = "we need n >= 3 days, n != 4, and x == 5; so 3/4 = \\frac{7}{8} and y = $5."
    found = [t.position for t in think_targets(list(text), 0, len(text), ["result"], 10)]
    assert [text[p] for p in found] == ["7", "5"] and found == [text.index("7"), text.rindex("5")]


def test_think_graphs_sit_on_tokens_that_write_results_then_steps():
    targets, _ = plan_targets(PIECES, SPAN, "74", ["result", "step"], 2)
    think = [t for t in targets if t.phase == "think"]
    assert think == [GraphTarget("think", 13, "result"), GraphTarget("think", 17, "result")]
    assert [PIECES[t.position] for t in think] == ["9", "1"]
    # more graphs than results: steps fill up (the first token after a sentence end)
    more = [t for t in plan_targets(PIECES, SPAN, "74", ["result", "step"], 3)[0] if t.phase == "think"]
    assert [(t.position, t.rule) for t in more] == [(13, "result"), (15, "step"), (17, "result")]
    # the trace is the generated part only: never a template token of the prompt, never </think>
    only_steps = think_targets(PIECES, 6, 18, ["step"], 10)
    assert all(6 <= t.position < 18 for t in only_steps) and [t.position for t in only_steps] == [6, 15]


def test_unfinished_trace_gets_no_graph_and_says_why():
    span = GenerationSpan(6, 4, -1, 18)
    targets, reason = plan_targets(PIECES[:18], span, "74", ["result"], 2)
    assert targets == [] and reason.startswith("unfinished")


def test_context_check_names_prompt_and_lengths():
    assert check_context("p1", 17, "answer", max_context=17) == ""
    msg = check_context("p1", 17, "answer", max_context=16)
    assert "'p1'" in msg and "17 input tokens" in msg and "max_context=16" in msg


def test_teacher_forced_plan_reads_the_reasoners_sequence_with_the_bases_tokens():
    """The base explains the reasoner's token at the reasoner's position, reading its own special tokens."""
    import pandas as pd

    import graphs_helpers as H
    from r1interp.data.tokenmap import derive_token_map
    from r1interp.graphs.plan import make_plan, teacher_forced_plan

    tok_r, problems = H.make_tokenizer("r1")
    tok_b, _ = H.make_tokenizer("plain")
    p = problems[1]
    gens = pd.DataFrame([H.generation_row(tok_r, "p", p.question, p.think, p.answer_text)]).assign(expected=p.answer)
    plan_r = make_plan(gens, tok_r, ["result", "step"], 2, 512, "own")
    tmap = derive_token_map(tok_r, tok_b)
    plan_b = teacher_forced_plan(plan_r, tmap, tok_b, "teacher_forced:r")
    assert list(plan_b["position"]) == list(plan_r["position"]) and list(plan_b["phase"]) == list(plan_r["phase"])
    assert list(plan_b["target_token"]) == list(plan_r["target_token"])  # content tokens: the same text
    ids_r, ids_b = plan_r["input_ids"].iloc[0], plan_b["input_ids"].iloc[0]
    assert len(ids_r) == len(ids_b)
    specials_r = set(tok_r.all_special_ids)
    for a, b in zip(ids_r, ids_b):
        if a in specials_r:  # every special token is read as the base's own token of that role
            assert tok_r.decode([a]) in {"<|bos|>", "<|User|>", "<|Assistant|>", "<think>", "</think>", "<|eos|>"}
            assert tok_b.decode([b]) in {"<|endoftext|>", "<|im_start|>", "\n"}, (tok_r.decode([a]), tok_b.decode([b]))
        else:
            assert a == b
    # reading the base with the reasoner's ids would put <|im_end|> where the reasoner has <|Assistant|>
    assistant = tok_r.convert_tokens_to_ids("<|Assistant|>")
    assert tok_b.decode([assistant]) == "<|im_end|>" and assistant in ids_r and assistant not in ids_b


def test_graphs_config_rejects_unknown_think_rules():
    with pytest.raises(ValueError, match="think_rules"):
        GraphsConfig(think_rules=("middle",))


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
    from r1interp.artifacts.transcoder import SkipTranscoder
    from r1interp.graphs.adapter import ReluTopK, to_single_layer

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


def test_a_phase_without_a_graph_is_listed_with_its_reason():
    """A trace with think targets but no answer target lost its answer row: the index could not say
    which graph was missing, or why."""
    import pandas as pd

    import graphs_helpers as H
    from r1interp.graphs.plan import make_plan

    tok, problems = H.make_tokenizer("r1")
    p = problems[1]
    gens = pd.DataFrame([H.generation_row(tok, "p", p.question, p.think, "I am not sure.")]).assign(expected=p.answer)
    plan = make_plan(gens, tok, ["result", "step"], 2, 512, "own")
    answer = plan[plan["phase"] == "answer"]
    assert len(answer) == 1 and answer["graph_id"].iloc[0] == "" and answer["position"].iloc[0] == -1
    assert answer["reason"].iloc[0].startswith("no answer graph")
    assert (plan.loc[plan["phase"] == "think", "reason"] == "").all() and (plan["phase"] == "think").sum() == 2

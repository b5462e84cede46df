"""One token stream per pair: the base reads the reasoner's sequence with its own special tokens.

The toy pair mirrors the real one: one regular vocabulary, different added tokens on the same ids
(R1-Distill's User/Assistant/BOS/<think> where Qwen2.5-Math has <|im_start|>/<|im_end|>/...).
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from r1interp.artifacts.tokenmap import TokenMapError, read_token_map
from r1interp.data.tokenmap import derive_token_map, token_roles
from r1interp.toy.tokenizer import BASE_SPECIAL_TOKENS, SPECIAL_TOKENS, train_bpe, with_specials

# What each reasoner special token must be read as by the base (role → base token).
EXPECTED = {
    "<|eos|>": "<|endoftext|>",      # end of text
    "<|User|>": "<|im_start|>",      # the user turn opens
    "<|Assistant|>": "<|im_start|>",  # the assistant turn opens (Qwen: <|im_start|>assistant)
    "<|bos|>": "<|endoftext|>",      # Qwen2.5 has no BOS: documents start after its end-of-text
    "<|pad|>": "<|endoftext|>",
    "<think>": "\n",                 # no think role in the base: read as a line break
    "</think>": "\n",
}


@pytest.fixture(scope="module")
def pair(toy_problems):
    bpe = train_bpe([f"{p.question}\n{p.think}\n{p.answer_text}" for p in toy_problems[:300]], 400)
    return with_specials(bpe, "r1"), with_specials(bpe, "plain")


def test_toy_pair_has_different_special_tokens_on_the_same_ids(pair):
    r, b = pair
    assert r.convert_tokens_to_ids(SPECIAL_TOKENS) == b.convert_tokens_to_ids(BASE_SPECIAL_TOKENS)
    assert r.convert_ids_to_tokens(r.convert_tokens_to_ids("<think>")) != b.convert_ids_to_tokens(r.convert_tokens_to_ids("<think>"))
    assert b.bos_token is None and b.eos_token == "<|endoftext|>"  # like Qwen2.5-Math


def test_roles_are_read_from_the_tokenizers_and_their_templates(pair):
    r, b = pair
    roles_r, roles_b = token_roles(r), token_roles(b)
    assert {k: r.convert_ids_to_tokens(v) for k, v in roles_r.items()} == {
        "bos": "<|bos|>", "eos": "<|eos|>", "pad": "<|pad|>", "user": "<|User|>", "assistant": "<|Assistant|>",
        "think_open": "<think>", "think_close": "</think>"}
    assert {k: b.convert_ids_to_tokens(v) for k, v in roles_b.items()} == {
        "eos": "<|endoftext|>", "pad": "<|endoftext|>", "user": "<|im_start|>", "assistant": "<|im_start|>"}


def test_map_reads_every_special_token_by_role(pair):
    r, b = pair
    tmap = derive_token_map(r, b)
    got = {e.source_token: b.decode([e.target_id]) for e in tmap.entries}
    assert got == EXPECTED
    text = "12 + 7 = 19."
    ids = r(f"<|bos|><|User|>{text}<|Assistant|><think>\n{text}\n</think>\n\n{text}<|eos|>", add_special_tokens=False)["input_ids"]
    mapped = tmap.apply(ids)
    assert len(mapped) == len(ids)  # one to one: positions stay aligned
    for a, m in zip(ids, mapped):
        if a in r.all_special_ids:
            assert b.decode([int(m)]) == EXPECTED[r.decode([a])]
        else:
            assert a == m and r.decode([a]) == b.decode([int(m)])  # the text itself is untouched


def test_map_refuses_pairs_that_cannot_be_aligned(pair, toy_problems):
    r, b = pair
    other = with_specials(train_bpe([p.question for p in toy_problems[300:400]], 300), "plain")
    with pytest.raises(TokenMapError, match="regular vocabulary"):
        derive_token_map(r, other)
    with pytest.raises(TokenMapError, match=r"'<think>'.*unmatched_as='<think>' is \d+ .* tokens, not one"):
        derive_token_map(r, b, unmatched_as="<think>")


def test_mapped_shards_are_one_stream_with_the_bases_tokens(tmp_path, pair, toy_problems):
    """The data stage's `map` command: same documents, positions and segments; the base's own special ids."""
    from r1interp.artifacts.shards import read_stream_hash, write_shard
    from r1interp.core.render import Example
    from r1interp.data.__main__ import main
    from r1interp.data.shards import ShardConfig, build_shards

    r, b = pair
    r.save_pretrained(tmp_path / "tok-r1")
    b.save_pretrained(tmp_path / "tok-base")
    exs = [Example(p.id, p.kind, p.question, p.think, p.answer_text) for p in toy_problems[:80]]
    tables = build_shards(r, exs, ShardConfig(instruction="Think.", eval_fraction=0.2, train_tokens=10**9, eval_tokens=10**9))
    for split, t in tables.items():
        write_shard(t, tmp_path / f"r-{split}.parquet")
    main(["map", "--source-tokenizer", str(tmp_path / "tok-r1"), "--target-tokenizer", str(tmp_path / "tok-base"),
          "--source-name", "toy-reasoner", "--target-name", "toy-base",
          "--source-shards", str(tmp_path / "r-train.parquet"), str(tmp_path / "r-eval.parquet"),
          "--out-shards", str(tmp_path / "b-train.parquet"), str(tmp_path / "b-eval.parquet"), "--out-map", str(tmp_path / "map.json")])
    for split in ("train", "eval"):
        tr, tb = pq.read_table(tmp_path / f"r-{split}.parquet"), pq.read_table(tmp_path / f"b-{split}.parquet")
        assert read_stream_hash(tmp_path / f"r-{split}.parquet") == read_stream_hash(tmp_path / f"b-{split}.parquet") is not None
        assert tr.column("doc_id").to_pylist() == tb.column("doc_id").to_pylist()
        assert tr.column("segment").to_pylist() == tb.column("segment").to_pylist()
        n_special = 0
        for ids_r, ids_b in zip(tr.column("input_ids").to_pylist(), tb.column("input_ids").to_pylist()):
            assert len(ids_r) == len(ids_b)
            for a, m in zip(ids_r, ids_b):
                if a in r.all_special_ids:
                    n_special += 1
                    assert b.decode([m]) == EXPECTED[r.decode([a])], (r.decode([a]), b.decode([m]))
                else:
                    assert a == m
        assert n_special > 4 * tr.num_rows  # bos, user, assistant, think, /think, eos per conversation
    tmap = read_token_map(tmp_path / "map.json")
    assert json.loads((tmp_path / "map.json").read_text())["sha256"] == tmap.sha256()
    # the map is not the identity: reading the base with the reasoner's ids is what it prevents
    assert np.any(tmap.apply(np.arange(len(r))) != np.arange(len(r)))


def test_real_pair_added_tokens_map_by_role():
    """The real pair's added-token strings and chat-template shapes (R1-Distill vs Qwen2.5-Math) on a small BPE."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.train_from_iterator(["Please reason step by step.\nuser\nassistant\nsystem\n1 + 2 = 3"],
                            trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    shared = ["<|quad_start|>", "<|quad_end|>", "<|vision_start|>"]
    r1 = ["<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<｜begin▁of▁sentence｜>", "<|EOT|>", "<think>", "</think>"] + shared
    qwen = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>"] + shared

    def tok(added, bos, eos, template):
        t = Tokenizer.from_str(raw.to_str())
        t.add_special_tokens(added)
        fast = PreTrainedTokenizerFast(tokenizer_object=t, bos_token=bos, eos_token=eos, pad_token=eos)
        fast.chat_template = template
        return fast

    r = tok(r1, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>",
            "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}<｜User｜>{{ m['content'] }}{% endif %}{% endfor %}"
            "{% if add_generation_prompt %}<｜Assistant｜><think>\n{% endif %}")
    b = tok(qwen, None, "<|endoftext|>",
            "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
            "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    got = {e.source_token: (e.target_token, e.rule) for e in derive_token_map(r, b).entries}
    assert got["<｜User｜>"] == ("<|im_start|>", "role:user")
    assert got["<｜Assistant｜>"] == ("<|im_start|>", "role:assistant")
    assert got["<｜end▁of▁sentence｜>"] == ("<|endoftext|>", "role:eos")
    assert got["<｜begin▁of▁sentence｜>"] == ("<|endoftext|>", "role:bos->eos")
    assert got["<think>"][1] == got["</think>"][1] == "unmatched" and got["<think>"][0] == "Ċ"
    assert all(got[s] == (s, "same_string") for s in shared)

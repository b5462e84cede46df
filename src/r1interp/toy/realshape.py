"""Local stand-ins of the real pair: the real widths, tokens and chat templates, random weights.

Why: the toy pair is small in every dimension, so code that assumes a toy width, a toy vocabulary
or toy special-token ids passes every toy test. These stand-ins carry what the real models carry —
DeepSeek-R1-Distill-Qwen-1.5B and Qwen2.5-Math-1.5B's ``config.json`` values (hidden 1536,
intermediate 8960, 12 query / 2 KV heads, vocab 151,936, rope theta 10,000, RMS eps 1e-6; the
distill's untied LM head vs the base's tied one), each tokenizer's added tokens on their real ids
(151643–151664) and each model's chat template — with fewer layers (or none: ``config_only``) and
random weights, saved as ordinary Hugging Face directories that load through ``source: hf``.

The regular vocabulary is a small byte-level BPE trained on the given texts, padded with unused
filler tokens up to the real 151,643 regular ids, so ids and embedding sizes are the real ones.
Values were read from the models' ``config.json`` / ``tokenizer_config.json`` on the hub.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

N_REGULAR = 151_643  # ids 0..151642 are Qwen2's regular (byte-level BPE) vocabulary
VOCAB_SIZE = 151_936  # embedding rows (padded past the last added token, as in the real models)

# (content, special) in id order from 151643 (DeepSeek-R1-Distill-Qwen-1.5B tokenizer_config.json)
R1_ADDED = [
    ("<｜end▁of▁sentence｜>", True), ("<｜User｜>", False), ("<｜Assistant｜>", False), ("<｜begin▁of▁sentence｜>", True),
    ("<|EOT|>", False), ("<think>", False), ("</think>", False), ("<|quad_start|>", True), ("<|quad_end|>", True),
    ("<|vision_start|>", True), ("<|vision_end|>", True), ("<|vision_pad|>", True), ("<|image_pad|>", True),
    ("<|video_pad|>", True), ("<tool_call>", False), ("</tool_call>", False), ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False), ("<|fim_suffix|>", False), ("<|fim_pad|>", False), ("<|repo_name|>", False),
    ("<|file_sep|>", False),
]
# Qwen2.5-Math-1.5B tokenizer_config.json
QWEN_ADDED = [
    ("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True), ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True), ("<|box_start|>", True), ("<|box_end|>", True), ("<|quad_start|>", True),
    ("<|quad_end|>", True), ("<|vision_start|>", True), ("<|vision_end|>", True), ("<|vision_pad|>", True),
    ("<|image_pad|>", True), ("<|video_pad|>", True), ("<tool_call>", False), ("</tool_call>", False),
    ("<|fim_prefix|>", False), ("<|fim_middle|>", False), ("<|fim_suffix|>", False), ("<|fim_pad|>", False),
    ("<|repo_name|>", False), ("<|file_sep|>", False),
]

# R1-Distill's template (system, user and assistant turns; the tool-call branches are left out):
# BOS, the system prompt, <｜User｜>…, <｜Assistant｜>… (text after </think> only) <｜end▁of▁sentence｜>,
# and the generation prompt "<｜Assistant｜><think>\n" of the current revision.
R1_CHAT_TEMPLATE = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(system_prompt='') %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}"
    "{{ bos_token }}{{ ns.system_prompt }}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}{%- endif %}"
    "{%- if message['role'] == 'assistant' %}{% set content = message['content'] %}"
    "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{ '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>' }}{%- endif %}"
    "{%- endfor -%}"
    "{% if add_generation_prompt %}{{ '<｜Assistant｜><think>\\n' }}{% endif %}"
)
# Qwen2.5-Math's ChatML template with its default system prompt (the tools branch left out).
QWEN_MATH_CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nPlease reason step by step, and put your final answer within \\\\boxed{}.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message['role'] == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


@dataclass(frozen=True)
class Flavour:
    name: str
    added: list
    bos: str | None
    eos: str
    pad: str
    template: str
    config: dict = field(default_factory=dict)


COMMON = dict(
    hidden_size=1536, intermediate_size=8960, num_attention_heads=12, num_key_value_heads=2, vocab_size=VOCAB_SIZE,
    rope_theta=10000.0, rms_norm_eps=1e-06, hidden_act="silu", sliding_window=4096, use_sliding_window=False,
    max_window_layers=21, bos_token_id=151643, eos_token_id=151643, initializer_range=0.02, torch_dtype="bfloat16",
)
FLAVOURS = {
    "r1-distill-qwen-1.5b": Flavour(
        "r1-distill-qwen-1.5b", R1_ADDED, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜end▁of▁sentence｜>",
        R1_CHAT_TEMPLATE, dict(COMMON, max_position_embeddings=131072, tie_word_embeddings=False),
    ),
    "qwen2.5-math-1.5b": Flavour(
        "qwen2.5-math-1.5b", QWEN_ADDED, None, "<|endoftext|>", "<|endoftext|>",
        QWEN_MATH_CHAT_TEMPLATE, dict(COMMON, max_position_embeddings=4096, tie_word_embeddings=True),
    ),
}


def train_regular_bpe(texts: Iterable[str], vocab_size: int = 2000):
    """A byte-level BPE (digits split, as Qwen's) padded with filler tokens to the real 151,643 ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    n = len(vocab)
    # filler tokens no merge produces: the ids exist (as in the real vocabulary) but never appear
    vocab.update({f"<filler_{i}>": i for i in range(n, N_REGULAR)})
    return Tokenizer.from_str(json.dumps(data))


def make_tokenizer(bpe, flavour: Flavour):
    """The flavour's ``PreTrainedTokenizerFast``: the shared regular vocabulary + its added tokens on their real ids."""
    from tokenizers import AddedToken, Tokenizer
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer.from_str(bpe.to_str())
    for content, special in flavour.added:  # one at a time: ids follow the list order
        tok = AddedToken(content, special=special, normalized=False)
        (raw.add_special_tokens if special else raw.add_tokens)([tok])
    fast = PreTrainedTokenizerFast(tokenizer_object=raw, bos_token=flavour.bos, eos_token=flavour.eos, pad_token=flavour.pad,
                                   model_max_length=16384)
    got = fast.convert_tokens_to_ids([c for c, _ in flavour.added])
    if got != list(range(N_REGULAR, N_REGULAR + len(flavour.added))):
        raise RuntimeError(f"{flavour.name}: added tokens landed on ids {got[:3]}…, expected {N_REGULAR}…")
    fast.chat_template = flavour.template
    return fast


def build_standin(path: str | Path, name: str, bpe, n_layers: int = 2, config_only: bool = False, seed: int = 0,
                  real_n_layers: int | None = None) -> Path:
    """Write the stand-in of ``name`` (a key of :data:`FLAVOURS`) to ``path``: config.json, tokenizer
    and (unless ``config_only``) random bf16 weights of ``n_layers`` blocks."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    flavour = FLAVOURS[name]
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    cfg = Qwen2Config(**flavour.config, num_hidden_layers=real_n_layers if config_only and real_n_layers else n_layers,
                      architectures=["Qwen2ForCausalLM"])
    make_tokenizer(bpe, flavour).save_pretrained(str(path))
    if config_only:
        cfg.save_pretrained(str(path))
        return path
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM._from_config(cfg, torch_dtype=torch.bfloat16)  # initialised in bf16: half the memory
    model.save_pretrained(str(path), safe_serialization=True)
    return path


def build_pair(root: str | Path, texts: Iterable[str], n_layers: int = 2, config_only: bool = False) -> dict[str, Path]:
    """Both stand-ins under ``root/<name>`` from ONE regular vocabulary (as the real pair shares one).
    ``config_only`` writes the real 28-layer config.json and the tokenizer, no weights."""
    bpe = train_regular_bpe(texts)
    return {name: build_standin(Path(root) / name, name, bpe, n_layers=n_layers, config_only=config_only, seed=i,
                                real_n_layers=28)
            for i, name in enumerate(FLAVOURS)}

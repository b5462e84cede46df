"""Byte-level BPE tokenizers for the toy pair, mirroring the real pair's special tokens.

Why these choices: digits are split one per token (as Qwen's tokenizer does), so arithmetic
features are digit features; special tokens get the *last* ids and id 0 is an ordinary byte,
because circuit-tracer treats id 0 as a BOS candidate and drops it from graphs.

Why two flavours: R1-Distill-Qwen and Qwen2.5-Math share one regular vocabulary but put
*different* added tokens on the same ids (R1's end-of-sentence/User/Assistant/BOS/…/<think>/</think>
sit where Qwen has <|endoftext|>/<|im_start|>/<|im_end|>/<|object_ref_start|>/…/<|box_end|>).
The toy pair does the same, so any code that feeds one model's ids to the other is caught on
the toy. Both flavours are built from ONE trained BPE, so regular ids are identical.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

# --- the reasoner flavour (R1-Distill style), in R1's id order -------------------------------
BOS, EOS, PAD = "<|bos|>", "<|eos|>", "<|pad|>"
USER, ASSISTANT = "<|User|>", "<|Assistant|>"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
# R1-Distill: 151643 end-of-sentence, 151644 User, 151645 Assistant, 151646 begin-of-sentence,
# 151647 <|EOT|> (our pad), 151648 <think>, 151649 </think>.
SPECIAL_TOKENS = [EOS, USER, ASSISTANT, BOS, PAD, THINK_OPEN, THINK_CLOSE]

# R1-distill style: the generation prompt opens the assistant turn with "<think>\n".
R1_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if m['role'] == 'system' %}{{ m['content'] }}"
    "{% elif m['role'] == 'user' %}" + USER + "{{ m['content'] }}"
    "{% elif m['role'] == 'assistant' %}" + ASSISTANT + "{{ m['content'] }}{{ eos_token }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}" + ASSISTANT + THINK_OPEN + "\n{% endif %}"
)

# --- the base flavour (Qwen2.5-Math style), the same ids --------------------------------------
ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
BASE_SPECIAL_TOKENS = [
    ENDOFTEXT, IM_START, IM_END, "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>",
]
# Qwen's ChatML turns; the base answers directly (no reasoning trace in its generation prompt).
QWEN_TEMPLATE = (
    "{% for m in messages %}" + IM_START + "{{ m['role'] }}\n{{ m['content'] }}" + IM_END + "\n{% endfor %}"
    "{% if add_generation_prompt %}" + IM_START + "assistant\n{% endif %}"
)

FLAVOURS = {
    # flavour: (special tokens in id order, bos, eos, pad, chat template)
    "r1": (SPECIAL_TOKENS, BOS, EOS, PAD, R1_TEMPLATE),
    "plain": (BASE_SPECIAL_TOKENS, None, ENDOFTEXT, ENDOFTEXT, QWEN_TEMPLATE),
}
TEMPLATES = {name: f[4] for name, f in FLAVOURS.items()}
PLAIN_TEMPLATE = QWEN_TEMPLATE


def train_bpe(texts: Iterable[str], vocab_size: int):
    """The shared regular vocabulary (``vocab_size`` minus the 7 special slots), as a raw ``Tokenizer``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    n_regular = vocab_size - len(SPECIAL_TOKENS)
    trainer = trainers.BpeTrainer(
        vocab_size=n_regular, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def with_specials(bpe, flavour: str):
    """A ``PreTrainedTokenizerFast`` of ``flavour``: the shared BPE plus that flavour's added tokens."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    if flavour not in FLAVOURS:
        raise ValueError(f"unknown tokenizer flavour {flavour!r}; allowed: {sorted(FLAVOURS)}")
    specials, bos, eos, pad, template = FLAVOURS[flavour]
    raw = Tokenizer.from_str(bpe.to_str())  # a copy: the flavours must not share added tokens
    n_regular = raw.get_vocab_size()
    raw.add_special_tokens(specials)  # appended in order: ids n_regular .. n_regular + 6
    named = {bos, eos, pad}
    fast = PreTrainedTokenizerFast(
        tokenizer_object=raw, bos_token=bos, eos_token=eos, pad_token=pad,
        additional_special_tokens=[t for t in specials if t not in named],
    )
    got = fast.convert_tokens_to_ids(specials)
    if got != list(range(n_regular, n_regular + len(specials))):
        raise RuntimeError(f"{flavour} special tokens landed on ids {got}, expected {n_regular}..")
    fast.chat_template = template
    return fast


def train_tokenizer(texts: Iterable[str], vocab_size: int, template: str = "r1"):
    """Train a byte-level BPE on ``texts``; returns the ``template`` flavour's tokenizer."""
    if template not in FLAVOURS:
        raise ValueError(f"unknown chat template {template!r}; allowed: {sorted(FLAVOURS)}")
    return with_specials(train_bpe(texts, vocab_size), template)


def save_tokenizer(tokenizer, path: str | Path) -> None:
    Path(path).mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(path))

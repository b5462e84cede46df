"""How a base model reads its reasoner's token stream: a one-to-one map of token ids.

Why: R1-Distill-Qwen and Qwen2.5-Math share the byte-level BPE and the vocabulary size, but the
ids 151643–151649 carry different added tokens (R1's end-of-sentence, User, Assistant,
begin-of-sentence, …, <think>, </think> vs Qwen's <|endoftext|>, <|im_start|>, <|im_end|>, …,
<|box_end|>). Feeding the reasoner's ids to the base silently changes what those positions mean.
Comparisons need both models on the *same tokens at the same positions*, so the base reads the
reasoner's sequence with each special token replaced by the base's own token of the same role.

The map is derived from the two tokenizers, never from hard-coded ids:

1. the regular (non-added) vocabularies must be identical — otherwise we refuse the pair;
2. an added token whose string the base also has maps to the base's id of that string;
3. else the token's *role* in the reasoner (bos, eos, pad, the user-turn and assistant-turn
   openers found by rendering each tokenizer's chat template, <think>/</think>) maps to the base's
   token of that role; a base without a BOS (Qwen2.5) reads the reasoner's BOS as its end-of-text
   separator (how Qwen's pre-training data starts a document);
4. roles the base lacks (the think markers) map to ``unmatched_as`` rendered by the base tokenizer
   (default ``"\\n"``: the base reads the trace as plain chain-of-thought text split by line
   breaks) — which must be exactly one base token, or we refuse naming the token.
"""

from __future__ import annotations

from r1interp.artifacts.tokenmap import MappedToken, TokenMap, TokenMapError

ROLE_ORDER = ("eos", "bos", "user", "assistant", "think_open", "think_close", "pad")
THINK_STRINGS = {"think_open": "<think>", "think_close": "</think>"}
_PROBE = "PROBE_USER_CONTENT"


def added_ids(tokenizer) -> dict[int, str]:
    """Id → string of every added token (special or not) of a fast tokenizer."""
    return {int(i): t.content for i, t in tokenizer.added_tokens_decoder.items()}


def regular_vocab(tokenizer) -> dict[str, int]:
    added = set(added_ids(tokenizer))
    return {t: i for t, i in tokenizer.get_vocab().items() if i not in added}


def template_openers(tokenizer) -> dict[str, int]:
    """The special tokens that open the user and the assistant turn, read off the chat template."""
    if not getattr(tokenizer, "chat_template", None):
        return {}
    text = tokenizer.apply_chat_template([{"role": "user", "content": _PROBE}], tokenize=False, add_generation_prompt=True)
    at = text.find(_PROBE)
    if at < 0:
        return {}
    specials = set(added_ids(tokenizer))
    think = {tokenizer.convert_tokens_to_ids(s) for s in THINK_STRINGS.values()}
    before = [i for i in tokenizer(text[:at], add_special_tokens=False)["input_ids"] if i in specials]
    after = [i for i in tokenizer(text[at + len(_PROBE):], add_special_tokens=False)["input_ids"] if i in specials and i not in think]
    roles = {}
    if before and before[-1] != tokenizer.bos_token_id:
        roles["user"] = before[-1]
    if after:
        roles["assistant"] = after[-1]
    return roles


def token_roles(tokenizer) -> dict[str, int]:
    """Role → id: bos/eos/pad from the tokenizer, turn openers from its template, think markers."""
    roles: dict[str, int] = {}
    for role in ("bos", "eos", "pad"):
        tid = getattr(tokenizer, f"{role}_token_id")
        if tid is not None:
            roles[role] = int(tid)
    roles.update(template_openers(tokenizer))
    vocab = tokenizer.get_vocab()
    for role, s in THINK_STRINGS.items():
        if s in vocab and vocab[s] in added_ids(tokenizer):
            roles[role] = vocab[s]
    return roles


def derive_token_map(source_tok, target_tok, *, source: str = "reasoner", target: str = "base", unmatched_as: str = "\n") -> TokenMap:
    """The map (module docstring); raises :class:`TokenMapError` naming the token it cannot align."""
    src_regular, dst_regular = regular_vocab(source_tok), regular_vocab(target_tok)
    if src_regular != dst_regular:
        only_src = sorted(set(src_regular.items()) - set(dst_regular.items()), key=lambda kv: kv[1])[:3]
        only_dst = sorted(set(dst_regular.items()) - set(src_regular.items()), key=lambda kv: kv[1])[:3]
        raise TokenMapError(
            f"{source} and {target} do not share a regular vocabulary ({len(src_regular)} vs {len(dst_regular)} tokens; "
            f"first differences: {source} {only_src}, {target} {only_dst}): positions cannot be aligned one-to-one"
        )
    dst_vocab = target_tok.get_vocab()
    src_roles, dst_roles = token_roles(source_tok), token_roles(target_tok)
    role_of = {}
    for role in ROLE_ORDER:  # first role wins when one token has several (eos == pad, say)
        if role in src_roles:
            role_of.setdefault(src_roles[role], role)
    fallback_ids = target_tok(unmatched_as, add_special_tokens=False)["input_ids"]
    entries = []
    for sid, stoken in sorted(added_ids(source_tok).items()):
        role = role_of.get(sid)
        if stoken in dst_vocab:
            tid, rule = dst_vocab[stoken], "same_string"
        elif role in dst_roles:
            tid, rule = dst_roles[role], f"role:{role}"
        elif role == "bos" and "eos" in dst_roles:
            tid, rule = dst_roles["eos"], "role:bos->eos"
        else:
            if len(fallback_ids) != 1:
                raise TokenMapError(
                    f"{source} token {stoken!r} (id {sid}) has no counterpart in {target} and unmatched_as={unmatched_as!r} "
                    f"is {len(fallback_ids)} {target} tokens, not one: set the pair's unmatched_as to a one-token string"
                )
            tid, rule = fallback_ids[0], "unmatched"
        entries.append(MappedToken(sid, stoken, int(tid), target_tok.convert_ids_to_tokens(int(tid)), rule))
    return TokenMap(source, target, unmatched_as, entries)

"""CLI of the toy stage: ``r1interp toy {corpus,tokenizer,model} ...``."""

from __future__ import annotations

import argparse
import json
import logging

from r1interp.utils import setup_logging

log = logging.getLogger("r1interp.toy")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="r1interp toy")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("corpus", help="generate the synthetic reasoning corpus")
    c.add_argument("--n-problems", type=int, required=True)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", required=True)
    t = sub.add_parser("tokenizer", help="train the byte-level BPE tokenizer with a chat template")
    t.add_argument("--corpus", required=True)
    t.add_argument("--vocab-size", type=int, required=True)
    t.add_argument("--out", nargs="+", required=True, metavar="TEMPLATE=DIR",
                   help="one tokenizer dir per flavour (r1=..., plain=...): one regular vocabulary, each flavour its own special tokens on the same ids")
    m = sub.add_parser("model", help="train a tiny Qwen2 on a token shard")
    m.add_argument("--tokenizer", required=True)
    m.add_argument("--train", required=True, help="train shard parquet")
    m.add_argument("--eval", required=True, help="eval shard parquet")
    m.add_argument("--model-config", required=True, help="JSON of ToyModelConfig fields")
    m.add_argument("--train-config", required=True, help="JSON of ToyTrainConfig fields")
    m.add_argument("--init-from", default=None, help="start from this model dir (the reasoner fine-tunes its base)")
    m.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    setup_logging()

    if args.cmd == "corpus":
        from r1interp.core.toy_corpus import generate_corpus, write_corpus

        write_corpus(generate_corpus(args.n_problems, args.seed), args.out)
    elif args.cmd == "tokenizer":
        from r1interp.core.toy_corpus import read_corpus
        from r1interp.toy.tokenizer import FLAVOURS, save_tokenizer, train_bpe, with_specials

        outs = dict(item.split("=", 1) for item in args.out)
        bad = sorted(set(outs) - set(FLAVOURS))
        if bad:
            raise SystemExit(f"--out: unknown tokenizer flavour(s) {bad}; allowed: {sorted(FLAVOURS)}")
        problems = read_corpus(args.corpus)
        texts = [f"{p.question}\n{p.think}\n{p.answer_text}" for p in problems]
        texts.append("Please reason step by step, and put your final answer within \\boxed{}.")
        bpe = train_bpe(texts, args.vocab_size)  # one regular vocabulary for the pair
        for flavour, out in outs.items():
            save_tokenizer(with_specials(bpe, flavour), out)  # each flavour's own special tokens, same ids
    elif args.cmd == "model":
        import torch
        from transformers import AutoTokenizer

        from r1interp.artifacts.shards import read_docs
        from r1interp.toy.model import ToyModelConfig, ToyTrainConfig, init_model, mean_loss, save_model, train_model
        from r1interp.artifacts.write import atomic_path

        torch.set_num_threads(max(1, torch.get_num_threads()))
        tok = AutoTokenizer.from_pretrained(args.tokenizer)
        mcfg = ToyModelConfig(**json.loads(args.model_config))
        tcfg = ToyTrainConfig(**json.loads(args.train_config))
        train_docs, eval_docs = read_docs(args.train), read_docs(args.eval)
        if args.init_from:
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained(args.init_from, torch_dtype=torch.float32)
            if model.config.vocab_size != len(tok):
                raise SystemExit(f"--init-from {args.init_from}: vocabulary {model.config.vocab_size} != tokenizer's {len(tok)}")
        else:
            model = init_model(tok, mcfg, seed=tcfg.seed)
        before = mean_loss(model, eval_docs, tcfg.seq_len, tok.pad_token_id)
        train_model(model, train_docs, tcfg, tok.pad_token_id)
        after = mean_loss(model, eval_docs, tcfg.seq_len, tok.pad_token_id)
        log.info("eval loss: random init %.3f → trained %.3f", before, after)
        with atomic_path(args.out) as tmp:
            save_model(model, tok, tmp)
            summary = {"eval_loss_init": before, "eval_loss": after, "init_from": args.init_from, **vars(tcfg)}
            (tmp / "training_summary.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

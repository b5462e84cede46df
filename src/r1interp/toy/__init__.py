"""The embedded toy setup: synthetic corpus, byte-level BPE tokenizer, tiny Qwen2 model pair."""

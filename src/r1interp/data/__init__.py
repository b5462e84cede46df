"""Data stage: corpus → chat template → <think>/answer segmentation → token shards."""

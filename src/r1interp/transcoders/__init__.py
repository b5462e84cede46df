"""Skip transcoders: training through eai-sparsify, the one loader, evaluation, export.

- :mod:`~r1interp.transcoders.io` — the loader every stage uses (``load_transcoder``).
- :mod:`~r1interp.transcoders.train` — group training through sparsify's ``Trainer`` (resumable).
- :mod:`~r1interp.transcoders.export` — circuit-tracer export and ``TranscoderSet`` loader.
- :mod:`~r1interp.transcoders.card` — Hugging Face model card.
"""

import importlib

# Lazy re-exports (PEP 562): the workflow imports light helpers from this package at parse time,
# and an eager import here would pull torch/pandas into every `snakemake` invocation.
_EXPORTS = {
    "SkipTranscoder": "io",
    "TranscoderFileError": "io",
    "load_transcoder": "io",
    "load_transcoders": "io",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"r1interp.transcoders.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SkipTranscoder", "TranscoderFileError", "load_transcoder", "load_transcoders"]

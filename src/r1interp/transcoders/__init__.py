"""Skip transcoders: training through eai-sparsify, the one loader, evaluation, export.

- :mod:`~r1interp.transcoders.io` — the loader every stage uses (``load_transcoder``).
- :mod:`~r1interp.transcoders.train` — group training through sparsify's ``Trainer`` (resumable).
- :mod:`~r1interp.transcoders.export` — circuit-tracer export and ``TranscoderSet`` loader.
- :mod:`~r1interp.transcoders.card` — Hugging Face model card.
"""

from r1interp.transcoders.io import SkipTranscoder, TranscoderFileError, load_transcoder, load_transcoders

__all__ = ["SkipTranscoder", "TranscoderFileError", "load_transcoder", "load_transcoders"]

"""Transcoders stage: train every layer's skip transcoder, link the per-layer dirs, export, model card.

The training library is :mod:`r1interp.core.train` (shared with the sweep); the one loader every
stage uses is :func:`r1interp.artifacts.transcoder.load_transcoder`.

- :mod:`~r1interp.transcoders.export` — circuit-tracer export.
- :mod:`~r1interp.transcoders.card` — Hugging Face model card.
"""

"""Attribution graphs with circuit-tracer 0.5.0: adapter, phases, build, viewer-ready output.

- :mod:`.adapter`: our TopK skip transcoders → circuit-tracer ``TranscoderSet``; local Qwen2 →
  TransformerLens ``ReplacementModel`` (why TL: see its docstring).
- :mod:`.phases`: think / answer / full graph positions in a generation (pure).
- :mod:`.build`: one prompt's graphs (``attribute`` → scores → prune → JSON + manifest).
- :mod:`.export`: graph JSON in circuit-tracer's schema with collision-free error-node ids.
- :mod:`.viewer`: per-feature viewer files and label clerps.
- :mod:`.finalize`: one model's viewer dir, ``index.parquet`` and ``scores.parquet``.
"""

from r1interp.graphs.adapter import (
    FEATURE_INPUT_HOOK,
    FEATURE_OUTPUT_HOOK,
    ReluTopK,
    build_transcoder_set,
    load_replacement_model,
)
from r1interp.graphs.config import GraphsConfig
from r1interp.graphs.export import cantor, cantor_unpair, check_node_ids, validate_graph_json
from r1interp.graphs.phases import ContextTooLongError, PhasePosition, check_context, graph_id, phase_positions

__all__ = [
    "FEATURE_INPUT_HOOK", "FEATURE_OUTPUT_HOOK", "ContextTooLongError", "GraphsConfig", "PhasePosition", "ReluTopK",
    "build_transcoder_set", "cantor", "cantor_unpair", "check_context", "check_node_ids", "graph_id",
    "load_replacement_model", "phase_positions", "validate_graph_json",
]

"""Attribution graphs with circuit-tracer 0.5.0: adapter, phases, build, viewer-ready output.

- :mod:`.adapter`: our TopK skip transcoders → circuit-tracer ``TranscoderSet``; local Qwen2 →
  TransformerLens ``ReplacementModel`` (why TL: see its docstring).
- :mod:`.phases`: where graphs sit: the answer's content token, think tokens that write results (pure).
- :mod:`.plan`: the graph plan of a model (own generations, or teacher-forced on its reasoner's).
- :mod:`.build`: one prompt's graphs (``attribute`` → scores → prune → JSON + manifest).
- :mod:`.export`: graph JSON in circuit-tracer's schema with collision-free error-node ids.
- :mod:`.viewer`: per-feature viewer files and label clerps.
- :mod:`.finalize`: one model's viewer dir, ``index.parquet`` and ``scores.parquet``.
"""

from r1interp.artifacts.transcoder import FEATURE_INPUT_HOOK, FEATURE_OUTPUT_HOOK, ReluTopK
from r1interp.graphs.adapter import build_transcoder_set, load_replacement_model
from r1interp.graphs.config import GraphsConfig
from r1interp.graphs.export import cantor, cantor_unpair, check_node_ids, validate_graph_json
from r1interp.graphs.phases import GraphTarget, check_context, graph_id, plan_targets

__all__ = [
    "FEATURE_INPUT_HOOK", "FEATURE_OUTPUT_HOOK", "GraphTarget", "GraphsConfig", "ReluTopK",
    "build_transcoder_set", "cantor", "cantor_unpair", "check_context", "check_node_ids", "graph_id",
    "load_replacement_model", "plan_targets", "validate_graph_json",
]

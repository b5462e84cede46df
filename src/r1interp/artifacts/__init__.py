"""The ground floor: the file contracts every stage reads and writes (``docs/architecture.md``).

Stages talk only through files. This package owns those files' shapes, so a contract is spelled
out once:

- :mod:`.paths` — where each artifact lives (``layer_dir``, :class:`~.paths.ModelPaths`).
- :mod:`.write` — one atomic writer per format (bytes, text/markdown, JSON, parquet, PNG,
  safetensors, whole directories).
- one reader per contract: :mod:`.shards` (token shards, with :mod:`.segments`), :mod:`.tokenmap`,
  :mod:`.generations`, :mod:`.transcoder` (checkpoints and the circuit-tracer export),
  :mod:`.features` (feature tables), :mod:`.labels`, :mod:`.graphs`, :mod:`.motifs`; :mod:`.tables`
  is the shared parquet check they use; :mod:`.markdown` formats tables in the text artifacts.

Stage packages import it, ``r1interp.core``, ``r1interp.models`` and ``r1interp.config``, never each
other (``tests/test_architecture_imports.py``).
"""

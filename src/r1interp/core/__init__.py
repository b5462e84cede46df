"""Shared science code that several stages drive: the floor under the stage packages.

Not a stage (no rules file, no CLI): stages import it, ``r1interp.artifacts``, ``r1interp.models``
and ``r1interp.config``, never each other.

- :mod:`.render` — chat templates and per-token segments (data shards and prompt generations).
- :mod:`.settings`, :mod:`.groups`, :mod:`.packing`, :mod:`.early_stop`, :mod:`.train` — skip
  transcoder training through sparsify (the transcoders stage and the sweep).
- :mod:`.hooks`, :mod:`.batches`, :mod:`.metrics` — splicing transcoders into the model and
  measuring faithfulness (the evaluate stage and the sweep).
"""

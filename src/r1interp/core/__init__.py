"""Shared science code that several stages drive: the floor under the stage packages.

Not a stage (no rules file, no CLI): stages import it, ``r1interp.artifacts``, ``r1interp.models``
and ``r1interp.config``, never each other (``tests/test_architecture_imports.py``).

- :mod:`.render` — chat templates and per-token segments (data shards and prompt generations).
- :mod:`.sources`, :mod:`.toy_corpus` — the input texts: dataset rows and the synthetic toy
  problems (the data stage, the toy stage, the toy prompt set, the guardrails).
- :mod:`.prompt_sets` — the benchmark and toy prompt sets (prompts, graphs rules, cost plan).
- :mod:`.settings`, :mod:`.groups`, :mod:`.packing`, :mod:`.early_stop`, :mod:`.train` — skip
  transcoder training through sparsify (the transcoders stage and the sweep).
- :mod:`.hooks`, :mod:`.batches`, :mod:`.metrics` — splicing transcoders into the model and
  measuring faithfulness (the evaluate stage and the sweep).
- :mod:`.dims`, :mod:`.flops`, :mod:`.costplan` — model widths and the cost model (the cost-plan
  stage, the report, the guardrails and the doctor).
"""

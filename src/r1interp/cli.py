"""``r1interp``: one command for every stage, plus the tools ``cluster``, ``publish`` and ``doctor``.

A stage is one package ``r1interp.<stage>``, one rules file ``rules/<stage>.smk`` whose rules run
only ``r1interp <stage> <command> ...``, and one entry here. The command runs the stage's
``__main__.main(argv)`` in-process (argv passed through unchanged; ``python -m r1interp.<stage>``
is the same entry). Stage modules are imported only when called, so ``r1interp --help`` answers
without loading torch. Each command's options, defaults and help come from its config dataclass
(``r1interp.cliargs``) where it has one.
"""

from __future__ import annotations

import importlib
import sys

# stage → one-line help (kept here so that --help needs no imports)
STAGES: dict[str, str] = {
    "toy": "embedded toy setup: corpus, tokenizer, models",
    "data": "token shards with per-token segments",
    "prompts": "generations of the prompt set (greedy or sampled), scored",
    "sweep": "pilot-layer transcoder sweep and Pareto selection",
    "transcoders": "train / link / export skip transcoders, model card",
    "evaluate": "faithfulness of the transcoders",
    "features": "feature activation statistics and examples",
    "autointerp": "feature labels (Claude) or automatic summaries",
    "graphs": "attribution graphs (circuit-tracer)",
    "motifs": "network motifs of the graphs",
    "compare": "cross-model / phase comparisons of motif profiles",
    "heads": "reasoning-focus attention heads",
    "patching": "activation patching",
    "modeldiff": "reasoner vs base, layer by layer",
    "report": "the offline HTML report",
    "costplan": "cost plan of the run: tokens, FLOPs, GPU-hours and dollars per stage",
}
TOOLS: dict[str, tuple[str, str]] = {
    "cluster": ("r1interp.cluster.__main__", "GPU pinning of a job (every GPU rule) and SLURM resources"),
    "publish": ("r1interp.publish.__main__", "build the release folder per model; upload to the Hub and Neuronpedia"),
    "doctor": ("r1interp.doctor.__main__", "check the environment against the configured run"),
}


def usage() -> str:
    lines = ["usage: r1interp <stage|tool> <command> [options ...]", "", "stages (rules/<stage>.smk runs `r1interp <stage> <command>`):"]
    lines += [f"  {name:<12} {text}" for name, text in STAGES.items()]
    lines += ["", "tools:"]
    lines += [f"  {name:<12} {text}" for name, (_, text) in TOOLS.items()]
    lines += ["", "`r1interp <name> --help` lists its commands, `r1interp <name> <command> --help` their options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name in STAGES:
        module = f"r1interp.{name}.__main__"
    elif name in TOOLS:
        module = TOOLS[name][0]
    else:
        print(f"r1interp: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    entry = importlib.import_module(module).main
    sys.argv = [f"r1interp {name}", *rest]  # argparse's prog in messages
    try:
        rc = entry(rest)
    except SystemExit as e:  # argparse exits; keep its status
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            return 1
        return 0 if e.code is None else int(e.code)
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())

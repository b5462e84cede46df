"""CLI: ``r1interp cluster pin [options] -- <command> [args]``, ``... resources <class>``.

``pin`` wraps a GPU rule's command on one multi-GPU machine (see :mod:`r1interp.cluster.gpu_pin`).
``resources`` prints what a rule class requests for an attempt (checks config.yaml by hand).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from r1interp.utils import setup_logging


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1 :]
    ap = argparse.ArgumentParser(prog="r1interp cluster")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pin", help="run `-- command` with CUDA_VISIBLE_DEVICES set to free GPU(s)")
    p.add_argument("--count", type=int, default=1, help="GPUs this job needs (the rule's resources.gpu)")
    p.add_argument("--devices", help="GPU ids, e.g. 0,1,2,3 (default: $R1_GPU_DEVICES, "
                   "$CUDA_VISIBLE_DEVICES, nvidia-smi -L)")
    p.add_argument("--lock-dir", default=os.environ.get("R1_GPU_LOCK_DIR", "/tmp/r1interp-gpu-locks"),
                   help="machine-wide lock dir (default $R1_GPU_LOCK_DIR or /tmp/r1interp-gpu-locks)")
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait for free GPUs (default: forever)")
    r = sub.add_parser("resources", help="print the resources of a rule class as JSON")
    r.add_argument("rule_class", choices=["gpu", "cpu"])
    r.add_argument("--config", default="config.yaml", help="the base config (default config.yaml)")
    r.add_argument("--configfile", nargs="*", default=[], help="files merged after it, in order, as snakemake --configfile merges them")
    r.add_argument("--attempt", type=int, default=1)
    r.add_argument("--rule", default=None, help="apply this rule's resources.rules overrides")
    args = ap.parse_args(argv)
    setup_logging()

    if args.cmd == "pin":
        from r1interp.cluster.gpu_pin import PinSettings, discover_devices, exec_pinned

        if not command:
            ap.error("pin: give the command after `--`")
        if args.count < 1:
            ap.error(f"--count must be >= 1, got {args.count}")
        settings = PinSettings(
            devices=discover_devices(os.environ, args.devices),
            lock_dir=Path(args.lock_dir),
            count=args.count,
            timeout=args.timeout,
        )
        try:
            exec_pinned(command, settings, os.environ)
        except (ValueError, TimeoutError) as e:
            raise SystemExit(f"r1interp.cluster pin: {e}")
        except FileNotFoundError as e:
            raise SystemExit(f"r1interp.cluster pin: command not found: {command[0]} ({e})")
    else:
        from r1interp.cluster.resources import rule_resources
        from r1interp.config import load_config

        for flag, path in [("--config", Path(args.config))] + [("--configfile", Path(p)) for p in args.configfile]:
            if not path.is_file():
                raise SystemExit(f"{flag}: file not found: {path}")
        config = load_config(args.config, *args.configfile)
        try:
            print(json.dumps(rule_resources(config, args.rule_class, args.attempt, args.rule)))
        except ValueError as e:
            raise SystemExit(str(e))


if __name__ == "__main__":
    main()

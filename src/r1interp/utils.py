"""Small shared helpers: logging set-up, argument value parsers, lazy package exports, field checks."""

from __future__ import annotations

import importlib
import logging
import os
import sys


_HANDLER = "r1interp-stderr"


def setup_logging(level: str | None = None, *, verbose: bool = False, quiet: tuple[str, ...] = ()) -> None:
    """The one logging set-up of every entry point: timestamped lines on stderr, which each rule
    sends to its ``logs/`` file.

    Level: ``level``, else DEBUG with ``verbose``, else ``$R1INTERP_LOG``, else INFO. ``quiet``
    loggers (e.g. an SDK that would echo request options) are held at WARNING. Calling it again
    replaces only its own handler, so handlers others installed (pytest's capture) keep working.
    """
    name = level or ("DEBUG" if verbose else os.environ.get("R1INTERP_LOG", "INFO"))
    value = getattr(logging, name.upper(), None)
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {name!r} (R1INTERP_LOG or --log-level): use DEBUG, INFO, WARNING or ERROR")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(value)
    for logger in quiet:
        logging.getLogger(logger).setLevel(logging.WARNING)


def run_command(args, commands: dict, log: logging.Logger) -> int:
    """Run ``commands[args.command](args)`` with the one logging set-up; a bad input (``ValueError``,
    ``OSError``) is logged as one line and exits 2 rather than dumping a traceback into the rule's log."""
    setup_logging(verbose=getattr(args, "verbose", False))
    try:
        commands[args.command](args)
    except (ValueError, OSError) as err:
        log.error("%s", err)
        return 2
    return 0


def cli_int_at_least(lo: int):
    """argparse type: an integer >= ``lo`` (the error names the bound and the value)."""
    import argparse

    def parse(value: str) -> int:
        v = int(value)
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {v}")
        return v

    return parse


def cli_bool(value: str) -> bool:
    """argparse type for ``--flag true|false`` (the rules pass every config boolean this way)."""
    import argparse

    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {value!r}")


def lazy_exports(package: str, exports: dict[str, str]):
    """A module ``__getattr__`` (PEP 562) that imports ``name`` from ``package.<exports[name]>`` on first use.

    Why: the workflow imports light helpers from stage packages at parse time; an eager import in
    their ``__init__`` would pull torch/pandas into every ``snakemake`` invocation.
    """

    def __getattr__(name: str):
        if name in exports:
            return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def check_fields(what: str, obj: object, checks: dict[str, bool]) -> None:
    """Raise one ValueError naming every field of ``obj`` whose check is False (``invalid <what>: a=1, b=2``)."""
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise ValueError(f"invalid {what}: {', '.join(f'{b}={getattr(obj, b)!r}' for b in bad)}")

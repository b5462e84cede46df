"""Small shared helpers for the CLI entries: logging set-up, argument value parsers."""

from __future__ import annotations

import logging
import os
import sys


def setup_logging(level: str | None = None) -> None:
    """Log to stderr (the Snakemake rule sends stderr to its ``logs/`` file)."""
    logging.basicConfig(
        level=getattr(logging, (level or os.environ.get("R1INTERP_LOG", "INFO")).upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


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

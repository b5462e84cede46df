"""One logging set-up for every entry point (r1interp.utils.setup_logging)."""

from __future__ import annotations

import ast
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from r1interp.utils import setup_logging

SRC = Path(__file__).resolve().parents[1] / "src" / "r1interp"


@pytest.fixture
def root():
    """The root logger, restored afterwards (level and handlers)."""
    logger = logging.getLogger()
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def ours(logger: logging.Logger) -> list[logging.Handler]:
    return [h for h in logger.handlers if h.get_name() == "r1interp-stderr"]


def test_calling_twice_keeps_one_handler_and_others_untouched(root, monkeypatch):
    monkeypatch.delenv("R1INTERP_LOG", raising=False)
    other = logging.NullHandler()
    root.addHandler(other)
    setup_logging()
    setup_logging(verbose=True, quiet=("some.sdk",))
    assert len(ours(root)) == 1 and other in root.handlers
    assert root.level == logging.DEBUG
    assert logging.getLogger("some.sdk").level == logging.WARNING


def test_level_from_the_environment_and_a_clear_error(root, monkeypatch):
    monkeypatch.setenv("R1INTERP_LOG", "warning")
    setup_logging()
    assert root.level == logging.WARNING
    assert setup_logging("ERROR") is None and root.level == logging.ERROR
    monkeypatch.setenv("R1INTERP_LOG", "loud")
    with pytest.raises(ValueError, match="'loud'"):
        setup_logging()


def test_a_cli_logs_timestamped_lines_to_stderr(tmp_path):
    """The real process: a stage CLI's log line lands on stderr in the one format."""
    code = "from r1interp.utils import setup_logging; import logging; setup_logging(); logging.getLogger('r1interp.x').info('hello')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout == ""
    assert proc.stderr.rstrip().endswith("INFO r1interp.x: hello")


def test_no_other_logging_set_up_in_the_package():
    """basicConfig / root handlers are configured only by setup_logging."""
    offenders = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("basicConfig", "dictConfig", "fileConfig"):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
            if isinstance(node, ast.FunctionDef) and node.name == "setup_logging" and path.name != "utils.py":
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} defines setup_logging")
    assert offenders == []

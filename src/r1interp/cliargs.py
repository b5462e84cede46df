"""Command-line options built from a config dataclass, so that a default lives in one place.

Why not hand-written ``add_argument`` calls: they restate each default and drift from the
dataclass (the sweep's ``eval_tokens`` once had three different defaults). Here every field becomes
``--field-name`` with the field's default and its docstring (or trailing comment) as help, the way
sparsify builds its CLI from ``RunConfig`` with simple_parsing. In-house rather than simple_parsing
because the rules pass ``none`` for optional numbers and ``true``/``false`` for booleans.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import io
import textwrap
import tokenize
import types
import typing
from pathlib import Path
from typing import Any, Literal

from r1interp.utils import cli_bool

NONE_WORDS = ("none", "null", "")


@dataclasses.dataclass(frozen=True)
class ModelLoad:
    """How a command loads its model (the same two options on every command that runs one)."""

    device: str = "auto"
    """cpu, cuda, cuda:N, or auto (cuda when there is one)."""
    dtype: str = "auto"
    """torch dtype name (float32, bfloat16, float16), or auto (the checkpoint's)."""


@dataclasses.dataclass(frozen=True)
class TrainInputs:
    """The model whose activations a training command reads, and the token shard it reads them on."""

    model_dir: str
    """HF model directory or hub id."""
    train_shard: Path
    """Token shard (results/{model}/data/train.parquet)."""


@dataclasses.dataclass(frozen=True)
class TraceRun:
    """A command that runs a model over its generated traces and writes one output directory."""

    model_path: str
    """HF model directory or hub id."""
    generations: Path
    """results/{model}/generations.parquet"""
    out_dir: Path
    """The command's output directory (results/{model}/<stage>)."""
    model_name: str | None = None
    """Name used in titles and JSON (default: the model path)."""


def trace_command(sub: Any, name: str, help: str) -> argparse.ArgumentParser:
    """A sub-command that runs a model over generated traces: :class:`TraceRun`, :class:`ModelLoad`, ``-v``."""
    cmd = sub.add_parser(name, help=help)
    add_dataclass_args(cmd, TraceRun, group="inputs and outputs")
    add_dataclass_args(cmd, ModelLoad, group="model")
    cmd.add_argument("-v", "--verbose", action="store_true")
    return cmd


def stage_parser(stage: str, doc: str | None) -> tuple[argparse.ArgumentParser, Any]:
    """``r1interp <stage>``'s parser and its sub-command set: every stage CLI starts the same way."""
    parser = argparse.ArgumentParser(prog=f"r1interp {stage}", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser, parser.add_subparsers(dest="command", required=True)


def field_docs(cls: type) -> dict[str, str]:
    """Each field's documentation: the string literal right below it, else its trailing comment."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        comments = {tok.start[0]: tok.string.lstrip("#").strip()
                    for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.COMMENT}
        body = ast.parse(source).body[0].body
        for node, after in zip(body, [*body[1:], None]):
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
                continue
            name = node.target.id
            if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str):
                docs[name] = " ".join(after.value.value.split())
            elif node.end_lineno in comments:
                docs[name] = comments[node.end_lineno]
    return docs


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    args = typing.get_args(tp)
    if (typing.get_origin(tp) in (typing.Union, types.UnionType)) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True
    return tp, False


def _converter(tp: Any, optional: bool):
    base = {bool: cli_bool, int: int, float: float, str: str, Path: Path}.get(tp)
    if base is None:
        raise TypeError(f"no command-line type for {tp!r}")
    if not optional:
        return base

    def convert(value: str):
        return None if value.strip().lower() in NONE_WORDS else base(value)

    convert.__name__ = f"optional {base.__name__}"
    return convert


def add_dataclass_args(parser: argparse.ArgumentParser, cls: type, *, skip: tuple[str, ...] = (),
                       group: str | None = None) -> None:
    """``--field-name`` for every field of ``cls`` but ``skip``; default and help from the dataclass."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    doc = (cls.__doc__ or "").strip()
    own_doc = doc.split("\n")[0] if doc and not doc.startswith(f"{cls.__name__}(") else None  # not the generated signature
    target = parser.add_argument_group(group or cls.__name__, own_doc)
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        tp, optional = _unwrap_optional(hints[f.name])
        kwargs: dict[str, Any] = {"dest": f.name}
        if f.default is not dataclasses.MISSING:
            kwargs["default"] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            kwargs["default"] = f.default_factory()
        else:
            kwargs["required"] = True
        origin = typing.get_origin(tp)
        if origin is Literal:
            kwargs["choices"] = list(typing.get_args(tp))
            kwargs["type"] = type(kwargs["choices"][0])
        elif origin in (list, tuple):
            kwargs["nargs"] = "+"
            kwargs["type"] = _converter(typing.get_args(tp)[0], False)
        else:
            kwargs["type"] = _converter(tp, optional)
            if tp is bool:
                kwargs["metavar"] = "true|false"
        shown = "none" if kwargs.get("default", 0) is None else kwargs.get("default")
        kwargs["help"] = docs.get(f.name, "") + ("" if kwargs.get("required") else f" (default: {shown})")
        target.add_argument(f"--{f.name.replace('_', '-')}", **kwargs)


def from_args(cls: type, args: argparse.Namespace, **overrides: Any):
    """The ``cls`` instance that ``add_dataclass_args`` options describe (``overrides`` win)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if f.init and hasattr(args, f.name)}
    values.update(overrides)
    if any(typing.get_origin(_unwrap_optional(t)[0]) is tuple for t in typing.get_type_hints(cls).values()):
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**values)


def to_flags(cls: type, values: dict[str, Any]) -> str:
    """``values`` (a subset of ``cls``'s fields) as the flags ``add_dataclass_args`` reads, for a rule."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise KeyError(f"unknown {cls.__name__} setting(s) {unknown}; allowed: {sorted(names)}")
    parts = []
    for key, val in values.items():
        flag = f"--{key.replace('_', '-')}"
        if isinstance(val, (list, tuple)):
            parts.append(f"{flag} {' '.join(str(v) for v in val)}")
        elif isinstance(val, bool):
            parts.append(f"{flag} {'true' if val else 'false'}")
        else:
            parts.append(f"{flag} {'none' if val is None else val}")
    return " ".join(parts)

"""Durable journal of paid calls (SQLite, WAL, synchronous=FULL).

Why: a crash or SIGKILL must lose no finished label and a restart must repeat no successful paid
call. Every reply we paid for is committed (fsync'd) *before* it is parsed — its usage, cost and
text — so the spend cap sees it whatever its shape, and a restart parses a stored reply instead of
buying it again. Budget reservations live here too, so per-layer jobs running in parallel
processes share one cap.

Tables:
- ``calls(model, layer, feature, task, prompt_version, llm_model, status, result, input_tokens,
  output_tokens, cost_usd, attempts, error, updated_at)`` — status ``ok`` rows are never
  overwritten; other statuses (``failed``, ``skipped_budget``) are retried next run.
- ``spend(id, model, layer, feature, task, llm_model, input_tokens, output_tokens, cost_usd, ok,
  batch, ts, cache_creation_tokens, cache_read_tokens, prompt_chars, usage_known, stop_reason,
  reply, parsed, error, prompt_version)`` — one row per paid response; ``parsed`` is NULL until
  the reply was parsed (1: usable, 0: not), ``usage_known`` 0 when the reply carried no usage
  (then ``cost_usd`` is the request's estimate, so the cap still counts it).
- ``reservations(id, host, pid, amount, ts, expires)`` — estimated costs of requests in flight;
  one past ``expires`` (the longest its request can take) or of a dead local process is dropped,
  so a job killed on another host cannot hold budget for long.
- ``batches(batch_id, created_at, status, reserved, mapping)`` — Message Batches not yet consumed.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    model TEXT NOT NULL, layer INTEGER NOT NULL, feature INTEGER NOT NULL, task TEXT NOT NULL,
    prompt_version TEXT NOT NULL, llm_model TEXT NOT NULL,
    status TEXT NOT NULL, result TEXT, input_tokens INTEGER, output_tokens INTEGER,
    cost_usd REAL, attempts INTEGER, error TEXT, updated_at REAL,
    PRIMARY KEY (model, layer, feature, task, prompt_version, llm_model)
);
CREATE TABLE IF NOT EXISTS spend (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT, layer INTEGER, feature INTEGER, task TEXT,
    llm_model TEXT, input_tokens INTEGER, output_tokens INTEGER, cost_usd REAL NOT NULL,
    ok INTEGER NOT NULL, batch INTEGER NOT NULL DEFAULT 0, ts REAL
);
CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT, pid INTEGER, amount REAL NOT NULL, ts REAL
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY, created_at REAL, status TEXT NOT NULL, reserved REAL, mapping TEXT NOT NULL
);
"""

# columns added to ``spend`` after the first release (added in place to older journals)
SPEND_COLUMNS = {
    "cache_creation_tokens": "INTEGER NOT NULL DEFAULT 0",
    "cache_read_tokens": "INTEGER NOT NULL DEFAULT 0",
    "prompt_chars": "INTEGER",
    "usage_known": "INTEGER NOT NULL DEFAULT 1",
    "stop_reason": "TEXT",
    "reply": "TEXT",
    "parsed": "INTEGER",
    "error": "TEXT",
    "prompt_version": "TEXT",
}
RESERVATION_COLUMNS = {"expires": "REAL"}
STALE_RESERVATION_S = 48 * 3600
CALIBRATION_WINDOW = 500  # most recent replies per (llm_model, task) that calibrate the estimate


@dataclass(frozen=True)
class TaskKey:
    """What makes a paid call unique; a restart looks answers up by it."""

    model: str
    layer: int
    feature: int
    task: str
    prompt_version: str
    """The prompt template's version and a digest of the rendered prompt (``v1@<sha256[:16]>``): an
    answer is reused only for the very prompt it answered."""
    llm_model: str

    def custom_id(self) -> str:
        """Batch ``custom_id`` (``^[a-zA-Z0-9_-]{1,64}$``); unique within one batch, where model,
        prompt version and llm model are fixed."""
        return f"L{self.layer}-F{self.feature}-{self.task}"


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Journal:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=60000")
        with self._tx():
            for stmt in SCHEMA.split(";"):
                if stmt.strip() and not stmt.strip().startswith("CREATE INDEX"):
                    self.db.execute(stmt)
            for table, columns in (("spend", SPEND_COLUMNS), ("reservations", RESERVATION_COLUMNS)):
                have = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
                for col, decl in columns.items():
                    if col not in have:
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {col} {decl}")
            self.db.execute("CREATE INDEX IF NOT EXISTS spend_task ON spend (llm_model, task)")
        self.host = socket.gethostname()
        self.clean_stale_reservations()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: takes the write lock up front so check-then-write is atomic
        across processes sharing the journal."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ------------------------------------------------------------------ answers

    def ok_result(self, key: TaskKey) -> dict | None:
        row = self.db.execute(
            "SELECT result FROM calls WHERE model=? AND layer=? AND feature=? AND task=? "
            "AND prompt_version=? AND llm_model=? AND status='ok'",
            _key_tuple(key),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def record_paid(
        self,
        key: TaskKey,
        usage: Usage,
        cost: float,
        *,
        reservation: int | None = None,
        batch: bool = False,
        prompt_chars: int | None = None,
        usage_known: bool = True,
        stop_reason: str | None = None,
        reply: str | None = None,
        error: str | None = None,
    ) -> int:
        """Commit a reply we paid for — before anyone parses it — and free its reservation in the
        same transaction; returns the spend row id for :meth:`record_ok` / :meth:`mark_parsed`."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO spend (model, layer, feature, task, llm_model, input_tokens, output_tokens, cost_usd, "
                "ok, batch, ts, cache_creation_tokens, cache_read_tokens, prompt_chars, usage_known, stop_reason, "
                "reply, parsed, error, prompt_version) VALUES (?,?,?,?,?,?,?,?,0,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    key.model,
                    key.layer,
                    key.feature,
                    key.task,
                    key.llm_model,
                    usage.input_tokens,
                    usage.output_tokens,
                    float(cost),
                    int(batch),
                    time.time(),
                    usage.cache_creation_input_tokens,
                    usage.cache_read_input_tokens,
                    prompt_chars,
                    int(usage_known),
                    stop_reason,
                    reply,
                    None if reply is not None else 0,  # nothing to parse: settled now
                    error,
                    key.prompt_version,
                ),
            )
            if reservation is not None:
                db.execute("DELETE FROM reservations WHERE id=?", (reservation,))
            return int(cur.lastrowid)

    def record_ok(self, key: TaskKey, result: dict, attempts: int, spend_id: int) -> None:
        """The reply journaled as ``spend_id`` parsed: store the answer (atomically with marking
        the reply used). An existing ``ok`` row is never overwritten."""
        with self._tx() as db:
            row = db.execute(
                "SELECT input_tokens + cache_creation_tokens + cache_read_tokens, output_tokens, cost_usd "
                "FROM spend WHERE id=?",
                (spend_id,),
            ).fetchone()
            db.execute("UPDATE spend SET ok=1, parsed=1, error=NULL WHERE id=?", (spend_id,))
            db.execute(
                "INSERT INTO calls VALUES (?,?,?,?,?,?,'ok',?,?,?,?,?,NULL,?) "
                "ON CONFLICT DO UPDATE SET status='ok', result=excluded.result, "
                "input_tokens=excluded.input_tokens, output_tokens=excluded.output_tokens, "
                "cost_usd=excluded.cost_usd, attempts=excluded.attempts, error=NULL, updated_at=excluded.updated_at "
                "WHERE calls.status != 'ok'",
                (*_key_tuple(key), json.dumps(result), row[0], row[1], row[2], attempts, time.time()),
            )

    def mark_parsed(self, spend_id: int, error: str) -> None:
        """The reply journaled as ``spend_id`` was not usable (``error`` says why)."""
        with self._tx() as db:
            db.execute("UPDATE spend SET parsed=0, error=? WHERE id=?", (error[:2000], spend_id))

    def unparsed_replies(self) -> dict[TaskKey, list[tuple[int, str, str | None]]]:
        """``{task key: [(spend_id, reply text, stop_reason), ...]}`` of paid replies that a killed
        run journaled but never parsed, oldest first (one query for the whole run)."""
        out: dict[TaskKey, list[tuple[int, str, str | None]]] = {}
        for sid, model, layer, feature, task, version, llm, reply, stop in self.db.execute(
            "SELECT id, model, layer, feature, task, prompt_version, llm_model, reply, stop_reason FROM spend "
            "WHERE parsed IS NULL AND reply IS NOT NULL ORDER BY id"
        ):
            out.setdefault(TaskKey(model, layer, feature, task, version or "", llm), []).append((sid, reply, stop))
        return out

    def record_status(self, key: TaskKey, status: str, attempts: int, error: str | None) -> None:
        """Record a non-success outcome; never downgrades an ``ok`` row."""
        if status == "ok":
            raise ValueError("use record_ok for successes")
        with self._tx() as db:
            db.execute(
                "INSERT INTO calls (model, layer, feature, task, prompt_version, llm_model, status, attempts, "
                "error, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT DO UPDATE SET status=excluded.status, attempts=excluded.attempts, "
                "error=excluded.error, updated_at=excluded.updated_at WHERE calls.status != 'ok'",
                (*_key_tuple(key), status, attempts, (error or "")[:2000], time.time()),
            )

    # ------------------------------------------------------------------ money

    def total_spend(self) -> float:
        return float(self.db.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM spend").fetchone()[0])

    def total_reserved(self) -> float:
        return float(self.db.execute("SELECT COALESCE(SUM(amount), 0) FROM reservations").fetchone()[0])

    def budget(self) -> tuple[float, float, int]:
        """(committed spend, reserved by requests in flight, number of those requests)."""
        spent = self.db.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM spend").fetchone()[0]
        held, n = self.db.execute("SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM reservations").fetchone()
        return float(spent), float(held), int(n)

    def try_reserve(self, amount: float, cap: float, force: bool = False, ttl_s: float | None = None) -> int | None:
        """Reserve ``amount`` if committed spend + all reservations + amount stays within ``cap``;
        returns the reservation id, or None (nothing reserved). ``ttl_s``: how long the request can
        take at most (then the reservation counts as stale)."""
        with self._tx() as db:
            spent = db.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM spend").fetchone()[0]
            held = db.execute("SELECT COALESCE(SUM(amount), 0) FROM reservations").fetchone()[0]
            if not force and spent + held + amount > cap:
                return None
            cur = db.execute(
                "INSERT INTO reservations (host, pid, amount, ts, expires) VALUES (?,?,?,?,?)",
                (self.host, os.getpid(), float(amount), time.time(), None if ttl_s is None else time.time() + ttl_s),
            )
            return int(cur.lastrowid)

    def calibration(self, llm_model: str, task: str) -> tuple[int, float, int]:
        """From the most recent replies with known usage to ``task`` prompts on ``llm_model``:
        (how many, the largest input tokens per prompt character, the largest output tokens)."""
        n, tpc, out = self.db.execute(
            "SELECT COUNT(*), MAX(CAST(input_tokens + cache_creation_tokens + cache_read_tokens AS REAL) "
            "/ prompt_chars), MAX(output_tokens) FROM (SELECT * FROM spend WHERE llm_model=? AND task=? "
            "AND usage_known=1 AND prompt_chars > 0 ORDER BY id DESC LIMIT ?)",
            (llm_model, task, CALIBRATION_WINDOW),
        ).fetchone()
        return int(n), float(tpc or 0.0), int(out or 0)

    def release(self, reservation: int | None) -> None:
        if reservation is None:
            return
        with self._tx() as db:
            db.execute("DELETE FROM reservations WHERE id=?", (reservation,))

    def clean_stale_reservations(self) -> None:
        """Reservations of processes that died (SIGKILL) would block the cap forever."""
        now = time.time()
        rows = self.db.execute("SELECT id, host, pid, ts, expires FROM reservations").fetchall()
        stale = [
            r[0]
            for r in rows
            if (r[1] == self.host and r[2] != os.getpid() and not _pid_alive(r[2]))
            or now - (r[3] or 0) > STALE_RESERVATION_S
            or (r[4] is not None and now > r[4])
        ]
        if stale:
            with self._tx() as db:
                db.executemany("DELETE FROM reservations WHERE id=?", [(i,) for i in stale])

    # ------------------------------------------------------------------ batches

    def add_batch(self, batch_id: str, mapping: dict[str, TaskKey], reserved: float) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO batches VALUES (?,?,?,?,?)",
                (batch_id, time.time(), "open", reserved, json.dumps({c: asdict(k) for c, k in mapping.items()})),
            )

    def open_batches(self, model: str) -> list[tuple[str, dict[str, TaskKey], float]]:
        out = []
        for bid, mapping, reserved in self.db.execute(
            "SELECT batch_id, mapping, reserved FROM batches WHERE status='open' ORDER BY created_at"
        ).fetchall():
            keys = {c: TaskKey(**k) for c, k in json.loads(mapping).items()}
            if any(k.model == model for k in keys.values()):
                out.append((bid, keys, float(reserved or 0.0)))
        return out

    def close_batch(self, batch_id: str, status: str = "consumed") -> None:
        with self._tx() as db:
            db.execute("UPDATE batches SET status=? WHERE batch_id=?", (status, batch_id))


def _key_tuple(key: TaskKey) -> tuple:
    return (key.model, key.layer, key.feature, key.task, key.prompt_version, key.llm_model)

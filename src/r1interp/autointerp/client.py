"""Paid calls to Claude: bounded concurrency, our own retries, a hard spend cap, a journal.

Why our own retries (SDK ``max_retries=0``): every attempt must pass the spend-cap check and every
paid response — even one whose content does not parse — must be journaled; the SDK's hidden
retries would do neither. The cap is enforced with a worst-case reservation per request (input
bytes ≥ input tokens, plus ``max_tokens`` of output): once a reservation would cross the cap no
new request is sent and the rest are recorded ``skipped_budget``. The API key is passed to the
SDK and nowhere else (never logged, never written).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

from tqdm import tqdm

from .config import AutointerpConfig
from .journal import Journal, TaskKey, Usage
from .prompts import ParseError

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {408, 409, 429}  # and every 5xx (500, 529 overloaded, ...)
FATAL_STATUS = {401, 403, 404}  # bad key / no access / unknown model: every call would fail
MAX_RETRY_AFTER_S = 600.0
PROMPT_OVERHEAD_TOKENS = 64  # message framing the API adds to our text
BATCH_MAX_REQUESTS = 10_000  # well under the API's per-batch limits (100k requests, 256 MB)


@dataclass
class Task:
    """One request: its journal key, the prompt, and the parser that validates the reply."""

    key: TaskKey
    system: str
    prompt: str
    max_tokens: int
    parse: Callable[[str], dict]


@dataclass
class Outcome:
    status: str  # ok | failed | skipped_budget | no_key
    result: dict | None = None
    attempts: int = 0
    error: str | None = None
    cached: bool = False  # answered from the journal (no request this run)


class FatalAPIError(RuntimeError):
    """An error every further request would repeat (authentication, permission, unknown model)."""


def usage_of(u: Any) -> Usage:
    g = lambda name: int(getattr(u, name, 0) or 0)  # noqa: E731
    return Usage(g("input_tokens"), g("output_tokens"), g("cache_creation_input_tokens"), g("cache_read_input_tokens"))


class Runner:
    def __init__(self, cfg: AutointerpConfig, journal: Journal, api_key: str | None):
        self.cfg = cfg
        self.journal = journal
        self.client = None
        if api_key:
            import anthropic

            self.price_in, self.price_out = cfg.price()
            self.client = anthropic.AsyncAnthropic(
                api_key=api_key, base_url=cfg.base_url, max_retries=0, timeout=cfg.timeout_s
            )
        self.sem = asyncio.Semaphore(cfg.concurrency)
        self.budget_stopped = False
        self.fatal: str | None = None
        self.n_requests = 0
        self.n_retries = 0
        self._jitter = random.Random()

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.close()

    # ------------------------------------------------------------------ money

    def estimate(self, task: Task) -> float:
        """Worst-case cost: UTF-8 bytes bound the token count from above."""
        n_in = len(task.system.encode()) + len(task.prompt.encode()) + PROMPT_OVERHEAD_TOKENS
        return n_in * self.price_in + task.max_tokens * self.price_out

    def cost(self, u: Usage, batch: bool = False) -> float:
        c = (
            u.input_tokens * self.price_in
            + u.cache_creation_input_tokens * self.price_in * 1.25
            + u.cache_read_input_tokens * self.price_in * 0.1
            + u.output_tokens * self.price_out
        )
        return c * (self.cfg.batch_price_factor if batch else 1.0)

    def _reserve(self, amount: float) -> int | None:
        if self.budget_stopped:
            return None
        res = self.journal.try_reserve(amount, self.cfg.spend_cap_usd)
        if res is None:
            self.budget_stopped = True
            log.warning(
                "spend cap $%.4f reached (spent $%.4f): no new requests; remaining tasks are skipped_budget",
                self.cfg.spend_cap_usd,
                self.journal.total_spend(),
            )
        return res

    # ------------------------------------------------------------------ retries

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        d = min(self.cfg.backoff_max_s, self.cfg.backoff_base_s * 2 ** (attempt - 1))
        d *= 0.5 + 0.5 * self._jitter.random()  # jitter: spread the herd after a 429 burst
        if retry_after is not None:
            d = max(d, min(retry_after, MAX_RETRY_AFTER_S))
        return d

    @staticmethod
    def _retry_after(err: Any) -> float | None:
        headers = getattr(getattr(err, "response", None), "headers", None)
        if headers is None:
            return None
        for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
            v = headers.get(name)
            if v is not None:
                try:
                    return max(0.0, float(v) * scale)
                except ValueError:
                    pass
        return None

    def _classify(self, err: BaseException) -> tuple[bool, str]:
        """(retryable, short message) for an exception from the SDK; sets ``fatal`` when every
        later call would fail the same way."""
        import anthropic

        if isinstance(err, anthropic.APIStatusError):
            code = err.status_code
            msg = f"HTTP {code} {getattr(err, 'type', None) or ''}".strip()
            if code in RETRYABLE_STATUS or code >= 500:
                return True, msg
            if code in FATAL_STATUS:
                self.fatal = msg
            return False, msg
        if isinstance(err, (anthropic.APITimeoutError, asyncio.TimeoutError, TimeoutError)):
            return True, "timeout"
        if isinstance(err, anthropic.APIConnectionError):
            return True, "connection error"
        if isinstance(err, (anthropic.APIError, json.JSONDecodeError)):  # e.g. an unreadable body
            return True, f"malformed response ({type(err).__name__})"
        raise err

    async def _with_retries(self, what: str, fn: Callable[[], Any]) -> Any:
        """Retry a non-billed call (batch create/retrieve/results) on transient errors."""
        for attempt in range(1, self.cfg.max_retries + 2):
            try:
                return await asyncio.wait_for(fn(), timeout=self.cfg.timeout_s * 2 + 1)
            except Exception as e:  # noqa: BLE001 - classified below
                retryable, msg = self._classify(e)
                if not retryable or attempt > self.cfg.max_retries:
                    raise RuntimeError(f"{what} failed after {attempt} attempt(s): {msg}") from None
                self.n_retries += 1
                await asyncio.sleep(self._delay(attempt, self._retry_after(e)))
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ entry

    async def run(self, tasks: list[Task], desc: str = "requests") -> dict[TaskKey, Outcome]:
        """Answer every task: from the journal when it already succeeded, else by requests.
        Without a client (no API key) nothing is sent and unanswered tasks are ``no_key``."""
        out: dict[TaskKey, Outcome] = {}
        todo: list[Task] = []
        for t in tasks:
            r = self.journal.ok_result(t.key)
            if r is not None:
                out[t.key] = Outcome("ok", r, 0, None, cached=True)
            else:
                todo.append(t)
        if todo and self.client is None:
            for t in todo:
                out[t.key] = Outcome("no_key", error="no ANTHROPIC_API_KEY: no request made")
            return out
        if not todo:
            return out
        if self.cfg.use_batches:
            out.update(await self._run_batches(tasks, todo))
        else:
            out.update(await self._run_direct(todo, desc))
        return out

    # ------------------------------------------------------------------ direct path

    async def _run_direct(self, todo: list[Task], desc: str) -> dict[TaskKey, Outcome]:
        out: dict[TaskKey, Outcome] = {}
        coros = [self._call(t) for t in todo]
        with tqdm(total=len(coros), desc=desc, unit="req", mininterval=2.0) as bar:
            for fut in asyncio.as_completed(coros):
                key, outcome = await fut
                out[key] = outcome
                bar.update(1)
        return out

    async def _call(self, t: Task) -> tuple[TaskKey, Outcome]:
        last = "no attempt"
        attempt = 0
        kwargs = {} if self.cfg.temperature is None else {"temperature": self.cfg.temperature}
        for attempt in range(1, self.cfg.max_retries + 2):
            retry_after: float | None = None
            async with self.sem:  # reserve only when about to send, so queued tasks hold no budget
                if self.fatal:
                    last = f"aborted after fatal API error: {self.fatal}"
                    break
                res = self._reserve(self.estimate(t))
                if res is None:
                    self.journal.record_status(t.key, "skipped_budget", attempt - 1, "spend cap reached")
                    return t.key, Outcome("skipped_budget", attempts=attempt - 1, error="spend cap reached")
                try:
                    self.n_requests += 1
                    resp = await asyncio.wait_for(
                        self.client.messages.create(
                            model=self.cfg.llm_model,
                            max_tokens=t.max_tokens,
                            system=t.system,
                            messages=[{"role": "user", "content": t.prompt}],
                            timeout=self.cfg.timeout_s,
                            **kwargs,
                        ),
                        timeout=self.cfg.timeout_s * 2 + 1,  # guard against a trickling server
                    )
                except BaseException as e:
                    self.journal.release(res)
                    if not isinstance(e, Exception):
                        raise
                    retryable, last = self._classify(e)  # re-raises what it does not know
                    if not retryable:
                        break
                    retry_after = self._retry_after(e)
                    resp = None
                if resp is not None:
                    usage = usage_of(resp.usage)
                    cost = self.cost(usage)
                    text = "".join(getattr(b, "text", "") for b in resp.content if getattr(b, "type", "") == "text")
                    try:
                        result = t.parse(text)
                    except ParseError as e:
                        self.journal.record_paid_failure(t.key, usage, cost, res)
                        last = f"unparseable reply: {e}"
                    else:
                        self.journal.record_ok(t.key, result, usage, cost, attempt, res)
                        return t.key, Outcome("ok", result, attempt)
            if attempt <= self.cfg.max_retries:
                self.n_retries += 1
                log.info("%s: %s (attempt %d), retrying", t.key.custom_id(), last, attempt)
                await asyncio.sleep(self._delay(attempt, retry_after))
        self.journal.record_status(t.key, "failed", attempt, last)
        log.warning("%s failed after %d attempt(s): %s", t.key.custom_id(), attempt, last)
        return t.key, Outcome("failed", attempts=attempt, error=last)

    # ------------------------------------------------------------------ batch path

    async def _run_batches(self, all_tasks: list[Task], todo: list[Task]) -> dict[TaskKey, Outcome]:
        """Message Batches: resume this stage's open batches first (never resubmit what a killed
        run already sent), then submit rounds of the still-unanswered tasks, retrying failures in
        later rounds up to ``max_retries``."""
        by_key = {t.key: t for t in all_tasks}
        out: dict[TaskKey, Outcome] = {}
        attempts: dict[TaskKey, int] = {t.key: 0 for t in todo}
        errors: dict[TaskKey, str] = {}
        for bid, mapping, reserved in self.journal.open_batches(todo[0].key.model):
            if not set(mapping.values()) <= set(by_key):
                continue  # another stage's or layer's batch
            log.info("resuming message batch %s (%d requests)", bid, len(mapping))
            res = self.journal.try_reserve(reserved, self.cfg.spend_cap_usd, force=True)
            try:
                await self._consume_batch(bid, {c: by_key[k] for c, k in mapping.items()}, out, errors)
            finally:
                self.journal.release(res)
            for k in mapping.values():
                attempts[k] = attempts.get(k, 0) + 1
        pending = [t for t in todo if self.journal.ok_result(t.key) is None]
        while pending and not self.fatal:
            eligible = [t for t in pending if attempts[t.key] <= self.cfg.max_retries]
            chosen, reservation, reserved = self._reserve_prefix(eligible)
            for t in eligible[len(chosen) :]:  # only when the cap stopped us
                self.journal.record_status(t.key, "skipped_budget", attempts[t.key], "spend cap reached")
                out[t.key] = Outcome("skipped_budget", attempts=attempts[t.key], error="spend cap reached")
            if not chosen:
                break
            try:
                submitted = []
                for i in range(0, len(chosen), BATCH_MAX_REQUESTS):
                    chunk = chosen[i : i + BATCH_MAX_REQUESTS]
                    mapping = {t.key.custom_id(): t for t in chunk}
                    if len(mapping) != len(chunk):
                        raise ValueError("duplicate custom_id in one batch")
                    batch = await self._with_retries("batch create", lambda c=chunk: self._create_batch(c))
                    self.n_requests += 1
                    share = reserved * len(chunk) / len(chosen)
                    self.journal.add_batch(batch.id, {c: t.key for c, t in mapping.items()}, share)
                    log.info("submitted message batch %s (%d requests)", batch.id, len(chunk))
                    submitted.append((batch.id, mapping))
                for bid, mapping in submitted:
                    await self._consume_batch(bid, mapping, out, errors)
            finally:
                self.journal.release(reservation)
            for t in chosen:
                attempts[t.key] += 1
            pending = [t for t in chosen if t.key not in out or out[t.key].status != "ok"]
            if any(attempts[t.key] <= self.cfg.max_retries for t in pending):
                self.n_retries += len(pending)
                await asyncio.sleep(self._delay(max(attempts[t.key] for t in pending), None))
        for t in todo:
            if t.key not in out or out[t.key].status not in ("ok", "skipped_budget"):
                err = f"aborted after fatal API error: {self.fatal}" if self.fatal else errors.get(t.key, "failed")
                self.journal.record_status(t.key, "failed", attempts.get(t.key, 0), err)
                out[t.key] = Outcome("failed", attempts=attempts.get(t.key, 0), error=err)
        return out

    def _reserve_prefix(self, tasks: list[Task]) -> tuple[list[Task], int | None, float]:
        """One reservation for the longest prefix of ``tasks`` that fits under the cap (one
        transaction, not one per request); stops the budget when not all of them fit."""
        if self.budget_stopped or not tasks:
            return [], None, 0.0
        cum, total = [], 0.0
        for t in tasks:
            total += self.estimate(t) * self.cfg.batch_price_factor
            cum.append(total)
        room = self.cfg.spend_cap_usd - self.journal.total_spend() - self.journal.total_reserved()
        k = sum(1 for c in cum if c <= room)
        res = self.journal.try_reserve(cum[k - 1], self.cfg.spend_cap_usd) if k else None
        if res is None:
            k = 0
        if k < len(tasks):
            self.budget_stopped = True
            log.warning("spend cap $%.4f reached: %d of %d batch requests not sent", self.cfg.spend_cap_usd,
                        len(tasks) - k, len(tasks))
        return tasks[:k], res, cum[k - 1] if k else 0.0

    async def _create_batch(self, chosen: list[Task]) -> Any:
        kwargs = {} if self.cfg.temperature is None else {"temperature": self.cfg.temperature}
        requests = [
            {
                "custom_id": t.key.custom_id(),
                "params": {
                    "model": self.cfg.llm_model,
                    "max_tokens": t.max_tokens,
                    "system": t.system,
                    "messages": [{"role": "user", "content": t.prompt}],
                    **kwargs,
                },
            }
            for t in chosen
        ]
        return await self.client.messages.batches.create(requests=requests)

    async def _consume_batch(
        self, bid: str, mapping: dict[str, Task], out: dict[TaskKey, Outcome], errors: dict[TaskKey, str]
    ) -> None:
        """Poll until the batch ends, then journal each result (skipping ones already journaled)."""
        t0 = time.monotonic()
        while True:
            batch = await self._with_retries("batch retrieve", lambda: self.client.messages.batches.retrieve(bid))
            if batch.processing_status == "ended":
                break
            if time.monotonic() - t0 > self.cfg.batch_max_wait_s:
                raise RuntimeError(f"message batch {bid} not ended after {self.cfg.batch_max_wait_s}s; rerun to resume")
            await asyncio.sleep(self.cfg.batch_poll_s)

        async def collect() -> list:
            return [r async for r in await self.client.messages.batches.results(bid)]

        results = await self._with_retries("batch results", collect)
        for r in results:
            t = mapping.get(r.custom_id)
            if t is None:
                log.warning("batch %s: unknown custom_id %r ignored", bid, r.custom_id)
                continue
            if self.journal.ok_result(t.key) is not None:
                out[t.key] = Outcome("ok", self.journal.ok_result(t.key), cached=True)
                continue
            if r.result.type != "succeeded":
                err = getattr(getattr(getattr(r.result, "error", None), "error", None), "type", None)
                errors[t.key] = f"batch result {r.result.type}" + (f" ({err})" if err else "")
                continue
            msg = r.result.message
            usage = usage_of(msg.usage)
            cost = self.cost(usage, batch=True)
            text = "".join(getattr(b, "text", "") for b in msg.content if getattr(b, "type", "") == "text")
            try:
                result = t.parse(text)
            except ParseError as e:
                self.journal.record_paid_failure(t.key, usage, cost, batch=True)
                errors[t.key] = f"unparseable reply: {e}"
                continue
            self.journal.record_ok(t.key, result, usage, cost, attempts=1, batch=True)
            out[t.key] = Outcome("ok", result, 1)
        self.journal.close_batch(bid)

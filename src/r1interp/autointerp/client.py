"""Paid calls to Claude: bounded concurrency, our own retries, a spend cap, a journal.

Why our own retries (SDK ``max_retries=0``): every attempt must pass the spend-cap check and every
paid response — whatever its shape — must be journaled before it is parsed; the SDK's hidden
retries would do neither.

The cap: a request is sent only when committed spend + the estimates of all requests in flight
(every process sharing the journal) + its own estimate stay within ``spend_cap_usd``. A request
that does not fit *waits* while others are in flight (their real cost is usually far below their
estimate) and is ``skipped_budget`` only when nothing is in flight and it still does not fit, so
a stage stops within one request's estimate of the cap. The estimate is the worst case (UTF-8
bytes bound the input tokens, plus ``max_tokens`` of output) until the journal holds a few replies
to the same kind of prompt; then it is calibrated from them (largest input tokens per prompt
character, largest output with a margin, never above the worst case).

Every reply shape is handled inside the per-task retry loop: an HTTP 200 that is not a Message, a
Message without a text block or with unparseable text is retried; a reply cut at ``max_tokens``
that does not parse and a refusal are recorded as failed with the reason. The API key is passed
to the SDK and nowhere else (never logged, never written).
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
CALIBRATE_AFTER = 5  # replies with known usage to one kind of prompt before the estimate is calibrated
INPUT_MARGIN = 1.1  # on the largest observed input tokens per prompt character
OUTPUT_MARGIN = 1.5  # on the largest observed output tokens
CALIBRATION_TTL_S = 2.0  # re-read the journal's calibration at most this often
RESERVATION_GRACE_S = 60.0  # a reservation outlives its request's longest possible duration by this


@dataclass
class Task:
    """One request: its journal key, the prompt, and the parser that validates the reply."""

    key: TaskKey
    system: str
    prompt: str
    max_tokens: int
    parse: Callable[[str], dict]

    @property
    def prompt_chars(self) -> int:
        return len(self.system) + len(self.prompt)


@dataclass
class Outcome:
    status: str  # ok | failed | skipped_budget | no_key
    result: dict | None = None
    attempts: int = 0
    error: str | None = None
    cached: bool = False  # answered from the journal (no request this run)


@dataclass
class Reply:
    """What we could read from a paid reply, whatever its shape."""

    usage: Usage | None  # None: the reply carried no usage
    text: str | None  # None: no text block to parse
    stop_reason: str | None
    problem: str | None  # why ``text`` is None


class FatalAPIError(RuntimeError):
    """An error every further request would repeat (authentication, permission, unknown model)."""


def usage_of(u: Any) -> Usage:
    g = lambda name: int(getattr(u, name, 0) or 0)  # noqa: E731
    return Usage(g("input_tokens"), g("output_tokens"), g("cache_creation_input_tokens"), g("cache_read_input_tokens"))


def read_reply(resp: Any) -> Reply:
    """Read usage, text and stop reason defensively: the SDK hands an HTTP 200 body that is not a
    Message through as a Message with ``None`` fields, or as a bare list / string / None."""
    u = getattr(resp, "usage", None)
    usage = usage_of(u) if u is not None and getattr(u, "input_tokens", None) is not None else None
    stop = getattr(resp, "stop_reason", None)
    stop = stop if isinstance(stop, str) else None
    content = getattr(resp, "content", None)
    if not isinstance(content, list):
        return Reply(usage, None, stop, f"reply is not a Message (HTTP 200 body of type {type(resp).__name__} "
                                        f"without a content list)")
    texts = [b.text for b in content if getattr(b, "type", None) == "text" and isinstance(getattr(b, "text", None), str)]
    if not texts:
        kinds = sorted({str(getattr(b, "type", type(b).__name__)) for b in content}) or ["none"]
        return Reply(usage, None, stop, f"reply has no text block (content: {', '.join(kinds)})")
    return Reply(usage, "".join(texts), stop, None)


def interpret(t: Task, text: str | None, stop_reason: str | None, problem: str | None) -> tuple[dict | None, str | None, bool]:
    """(result, error, retryable) for a journaled reply."""
    if stop_reason == "refusal":
        return None, "the model refused (stop_reason 'refusal')", False
    if text is None:
        return None, problem or "reply without text", True
    try:
        return t.parse(text), None, True
    except ParseError as e:
        if stop_reason == "max_tokens":
            return None, f"reply cut at max_tokens={t.max_tokens} and unparseable ({e}); raise max_tokens_*", False
        return None, f"unparseable reply: {e}", True


class Runner:
    def __init__(self, cfg: AutointerpConfig, journal: Journal, api_key: str | None):
        self.cfg = cfg
        self.journal = journal
        self.client = None
        if api_key:
            import anthropic

            self.prices = cfg.price()
            self.client = anthropic.AsyncAnthropic(
                api_key=api_key, base_url=cfg.base_url, max_retries=0, timeout=cfg.timeout_s
            )
        self.sem = asyncio.Semaphore(cfg.concurrency)
        self.fatal: str | None = None
        self.n_requests = 0
        self.n_retries = 0
        self.n_budget_waits = 0
        self.n_skipped_budget = 0
        self.cap_message: str | None = None
        self._calib: dict[str, tuple[float, tuple[int, float, int]]] = {}
        self._jitter = random.Random()

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.close()

    # ------------------------------------------------------------------ money

    def worst_case(self, task: Task) -> float:
        """Upper bound: UTF-8 bytes bound the token count from above; all input at the dearest
        input price (a cache write when caching); ``max_tokens`` of output."""
        n_in = len(task.system.encode()) + len(task.prompt.encode()) + PROMPT_OVERHEAD_TOKENS
        p_in = max(self.prices.input, self.prices.cache_write) if self.cfg.prompt_caching else self.prices.input
        return n_in * p_in + task.max_tokens * self.prices.output

    def _calibration(self, task: str, fresh: bool = False) -> tuple[int, float, int]:
        """The journal's calibration for ``task`` prompts: re-read every time until calibrated
        (or when ``fresh``), then at most every ``CALIBRATION_TTL_S``."""
        now = time.monotonic()
        hit = self._calib.get(task)
        if fresh or hit is None or hit[1][0] < CALIBRATE_AFTER or now - hit[0] > CALIBRATION_TTL_S:
            hit = (now, self.journal.calibration(self.cfg.llm_model, task))
            self._calib[task] = hit
        return hit[1]

    def estimate(self, task: Task, batch: bool = False, fresh: bool = False) -> float:
        """The cost a request reserves: the worst case until ``CALIBRATE_AFTER`` replies to this
        kind of prompt are journaled, then calibrated from them (never above the worst case)."""
        worst = self.worst_case(task)
        n, tpc, out_max = self._calibration(task.key.task, fresh)
        est = worst
        if n >= CALIBRATE_AFTER and tpc > 0:
            p_in = max(self.prices.input, self.prices.cache_write) if self.cfg.prompt_caching else self.prices.input
            n_in = task.prompt_chars * tpc * INPUT_MARGIN + PROMPT_OVERHEAD_TOKENS
            n_out = min(task.max_tokens, max(1.0, out_max * OUTPUT_MARGIN))
            est = min(worst, n_in * p_in + n_out * self.prices.output)
        return est * (self.cfg.batch_price_factor if batch else 1.0)

    def cost(self, u: Usage, batch: bool = False) -> float:
        p = self.prices
        c = (
            u.input_tokens * p.input
            + u.cache_creation_input_tokens * p.cache_write
            + u.cache_read_input_tokens * p.cache_read
            + u.output_tokens * p.output
        )
        return c * (self.cfg.batch_price_factor if batch else 1.0)

    def _stop_message(self, spent: float, held: float, need: float, n_tasks: int = 1) -> None:
        self.n_skipped_budget += n_tasks
        if self.cap_message is None:
            self.cap_message = (
                f"spend cap ${self.cfg.spend_cap_usd:.4f} reached: committed ${spent:.4f} + reserved ${held:.4f} "
                f"+ next request ~${need:.4f} would pass it; requests that do not fit are skipped_budget"
            )
            log.warning("%s", self.cap_message)

    async def _admit(self, t: Task) -> tuple[int, float] | None:
        """Reserve this request's estimate, waiting while others are in flight; None when it
        cannot fit (nothing in flight, still over the cap) or a fatal error stopped the run."""
        cap = self.cfg.spend_cap_usd
        fresh = False
        while not self.fatal:
            est = self.estimate(t, fresh=fresh)
            spent, held, n_flight = self.journal.budget()
            if spent + held + est <= cap:
                res = self.journal.try_reserve(est, cap, ttl_s=self.cfg.timeout_s * 2 + 1 + RESERVATION_GRACE_S)
                if res is not None:
                    return res, est
                continue  # another process took the room between the read and the reserve
            if n_flight == 0:
                if not fresh:  # judge the last chance on the journal's latest calibration
                    fresh = True
                    continue
                self._stop_message(spent, held, est)
                return None
            fresh = False
            self.n_budget_waits += 1
            await asyncio.sleep(self.cfg.budget_poll_s * (0.5 + self._jitter.random()))
            self.journal.clean_stale_reservations()  # a killed process's reservations must not block us
        return None

    def _journal_reply(self, t: Task, resp: Any, reservation: int | None, est: float, batch: bool) -> tuple[int, Reply]:
        """Journal a paid reply before parsing it; a reply without usage is charged its estimate."""
        r = read_reply(resp)
        cost = self.cost(r.usage, batch) if r.usage is not None else est
        sid = self.journal.record_paid(
            t.key,
            r.usage or Usage(),
            cost,
            reservation=reservation,
            batch=batch,
            prompt_chars=t.prompt_chars,
            usage_known=r.usage is not None,
            stop_reason=r.stop_reason,
            reply=r.text,
            error=r.problem,
        )
        return sid, r

    def _settle(self, t: Task, sid: int, r: Reply, attempts: int) -> tuple[dict | None, str | None, bool]:
        result, err, retryable = interpret(t, r.text, r.stop_reason, r.problem)
        if result is not None:
            self.journal.record_ok(t.key, result, attempts, sid)
        elif r.text is not None:
            self.journal.mark_parsed(sid, err or "unusable")
        return result, err, retryable

    def _recover(self, t: Task, replies: list[tuple[int, str, str | None]]) -> Outcome | None:
        """Parse replies a killed run paid for and journaled but never parsed (no new request)."""
        for sid, text, stop in replies:
            result, err, _ = interpret(t, text, stop, None)
            if result is not None:
                self.journal.record_ok(t.key, result, 1, sid)
                log.info("%s: answered from a journaled reply", t.key.custom_id())
                return Outcome("ok", result, 0, None, cached=True)
            self.journal.mark_parsed(sid, err or "unusable")
        return None

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
        later call would fail the same way. Unknown exceptions are not retried."""
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
        return False, f"unexpected error {type(err).__name__}: {err}"

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

    def _system(self, t: Task) -> Any:
        """The system prompt — the instruction prefix every prompt of this kind shares — as a
        cached block when prompt caching is on."""
        if not self.cfg.prompt_caching:
            return t.system
        return [{"type": "text", "text": t.system, "cache_control": {"type": "ephemeral"}}]

    def _params(self, t: Task) -> dict[str, Any]:
        kwargs = {} if self.cfg.temperature is None else {"temperature": self.cfg.temperature}
        return {
            "model": self.cfg.llm_model,
            "max_tokens": t.max_tokens,
            "system": self._system(t),
            "messages": [{"role": "user", "content": t.prompt}],
            **kwargs,
        }

    # ------------------------------------------------------------------ entry

    async def run(self, tasks: list[Task], desc: str = "requests") -> dict[TaskKey, Outcome]:
        """Answer every task: from the journal when it already succeeded (or a killed run paid
        for a reply it never parsed), else by requests. Without a client (no API key) nothing is
        sent and unanswered tasks are ``no_key``."""
        out: dict[TaskKey, Outcome] = {}
        todo: list[Task] = []
        unparsed = self.journal.unparsed_replies()
        for t in tasks:
            r = self.journal.ok_result(t.key)
            if r is not None:
                out[t.key] = Outcome("ok", r, 0, None, cached=True)
                continue
            recovered = self._recover(t, unparsed.get(t.key, []))
            if recovered is not None:
                out[t.key] = recovered
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
        """One task to its end; nothing it meets escapes: an unexpected error fails this task only."""
        try:
            return await self._call_inner(t)
        except Exception as e:  # noqa: BLE001 - recorded, the other tasks go on
            err = f"internal error: {type(e).__name__}: {e}"
            log.exception("%s: %s", t.key.custom_id(), err)
            try:
                self.journal.record_status(t.key, "failed", 0, err)
            except Exception:  # noqa: BLE001 - the outcome below still reports it
                log.exception("%s: could not journal the failure", t.key.custom_id())
            return t.key, Outcome("failed", error=err)

    async def _call_inner(self, t: Task) -> tuple[TaskKey, Outcome]:
        last = "no attempt"
        attempt = 0
        for attempt in range(1, self.cfg.max_retries + 2):
            retry_after: float | None = None
            async with self.sem:  # reserve only when about to send, so queued tasks hold no budget
                if self.fatal:
                    last = f"aborted after fatal API error: {self.fatal}"
                    break
                admitted = await self._admit(t)
                if admitted is None:
                    if self.fatal:
                        last = f"aborted after fatal API error: {self.fatal}"
                        break
                    self.journal.record_status(t.key, "skipped_budget", attempt - 1, "spend cap reached")
                    return t.key, Outcome("skipped_budget", attempts=attempt - 1, error="spend cap reached")
                res, est = admitted
                resp = None
                try:
                    self.n_requests += 1
                    resp = await asyncio.wait_for(
                        self.client.messages.create(**self._params(t), timeout=self.cfg.timeout_s),
                        timeout=self.cfg.timeout_s * 2 + 1,  # guard against a trickling server
                    )
                except BaseException as e:
                    self.journal.release(res)
                    if not isinstance(e, Exception):
                        raise
                    retryable, last = self._classify(e)
                    if not retryable:
                        break
                    retry_after = self._retry_after(e)
                else:
                    try:
                        sid, reply = self._journal_reply(t, resp, res, est, batch=False)
                    finally:
                        self.journal.release(res)  # a no-op once journaled with the reply
                    result, err, retryable = self._settle(t, sid, reply, attempt)
                    if result is not None:
                        return t.key, Outcome("ok", result, attempt)
                    last = err or "unusable reply"
                    if not retryable:
                        break
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
        run already sent), then submit rounds of the still-unanswered tasks that fit the cap,
        retrying failures in later rounds up to ``max_retries``."""
        by_key = {t.key: t for t in all_tasks}
        out: dict[TaskKey, Outcome] = {}
        attempts: dict[TaskKey, int] = {t.key: 0 for t in todo}
        errors: dict[TaskKey, str] = {}
        final: set[TaskKey] = set()  # failed for good (refusal, cut at max_tokens)
        for bid, mapping, reserved in self.journal.open_batches(todo[0].key.model):
            if not set(mapping.values()) <= set(by_key):
                continue  # another stage's or layer's batch
            log.info("resuming message batch %s (%d requests)", bid, len(mapping))
            res = self.journal.try_reserve(
                reserved, self.cfg.spend_cap_usd, force=True, ttl_s=self.cfg.batch_max_wait_s + RESERVATION_GRACE_S
            )
            try:
                await self._consume_batch(bid, {c: by_key[k] for c, k in mapping.items()}, out, errors, final)
            finally:
                self.journal.release(res)
            for k in mapping.values():
                attempts[k] = attempts.get(k, 0) + 1
        pending = [t for t in todo if self.journal.ok_result(t.key) is None and t.key not in final]
        last_chance = False
        while pending and not self.fatal:
            eligible = [t for t in pending if attempts[t.key] <= self.cfg.max_retries]
            if not eligible:
                break
            chosen, reservation, reserved = self._reserve_prefix(eligible)
            if not chosen:
                spent, held, n_flight = self.journal.budget()
                if n_flight:  # others' requests in flight: their settling may make room
                    self.n_budget_waits += 1
                    await asyncio.sleep(self.cfg.budget_poll_s * (0.5 + self._jitter.random()))
                    self.journal.clean_stale_reservations()
                    continue
                if not last_chance:  # judge the last chance on the journal's latest calibration
                    last_chance = True
                    self._calib.clear()
                    continue
                self._stop_message(spent, held, self.estimate(eligible[0], batch=True, fresh=True), len(eligible))
                for t in eligible:
                    self.journal.record_status(t.key, "skipped_budget", attempts[t.key], "spend cap reached")
                    out[t.key] = Outcome("skipped_budget", attempts=attempts[t.key], error="spend cap reached")
                break
            last_chance = False
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
                    await self._consume_batch(bid, mapping, out, errors, final)
            finally:
                self.journal.release(reservation)
            for t in chosen:
                attempts[t.key] += 1
            sent = {t.key for t in chosen}
            retry = [t for t in chosen if (t.key not in out or out[t.key].status != "ok") and t.key not in final]
            unsent = [t for t in pending if t.key not in sent]
            pending = unsent + retry
            if any(attempts[t.key] <= self.cfg.max_retries for t in retry):
                self.n_retries += len(retry)
                await asyncio.sleep(self._delay(max(attempts[t.key] for t in retry), None))
        for t in todo:
            if t.key not in out or out[t.key].status not in ("ok", "skipped_budget"):
                err = f"aborted after fatal API error: {self.fatal}" if self.fatal else errors.get(t.key, "failed")
                self.journal.record_status(t.key, "failed", attempts.get(t.key, 0), err)
                out[t.key] = Outcome("failed", attempts=attempts.get(t.key, 0), error=err)
        return out

    def _reserve_prefix(self, tasks: list[Task]) -> tuple[list[Task], int | None, float]:
        """One reservation for the longest prefix of ``tasks`` that fits under the cap now (one
        transaction, not one per request)."""
        cum, total = [], 0.0
        for t in tasks:
            total += self.estimate(t, batch=True)
            cum.append(total)
        spent, held, _ = self.journal.budget()
        room = self.cfg.spend_cap_usd - spent - held
        k = sum(1 for c in cum if c <= room)
        ttl = self.cfg.batch_max_wait_s + self.cfg.timeout_s * 2 + RESERVATION_GRACE_S
        res = self.journal.try_reserve(cum[k - 1], self.cfg.spend_cap_usd, ttl_s=ttl) if k else None
        if res is None:
            return [], None, 0.0
        return tasks[:k], res, cum[k - 1]

    async def _create_batch(self, chosen: list[Task]) -> Any:
        requests = [{"custom_id": t.key.custom_id(), "params": self._params(t)} for t in chosen]
        return await self.client.messages.batches.create(requests=requests)

    async def _consume_batch(
        self,
        bid: str,
        mapping: dict[str, Task],
        out: dict[TaskKey, Outcome],
        errors: dict[TaskKey, str],
        final: set[TaskKey],
    ) -> None:
        """Poll until the batch ends, then journal each result before parsing it (skipping ones
        already journaled); one odd result fails its task only."""
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
            t = mapping.get(getattr(r, "custom_id", None))
            if t is None:
                log.warning("batch %s: unknown custom_id %r ignored", bid, getattr(r, "custom_id", None))
                continue
            try:
                if self.journal.ok_result(t.key) is not None:
                    out[t.key] = Outcome("ok", self.journal.ok_result(t.key), cached=True)
                    continue
                kind = getattr(getattr(r, "result", None), "type", None)
                if kind != "succeeded":
                    err = getattr(getattr(getattr(r.result, "error", None), "error", None), "type", None)
                    errors[t.key] = f"batch result {kind}" + (f" ({err})" if err else "")
                    continue
                sid, reply = self._journal_reply(t, r.result.message, None, self.estimate(t, batch=True), batch=True)
                result, err, retryable = self._settle(t, sid, reply, 1)
                if result is not None:
                    out[t.key] = Outcome("ok", result, 1)
                else:
                    errors[t.key] = err or "unusable reply"
                    if not retryable:
                        final.add(t.key)
            except Exception as e:  # noqa: BLE001 - this result only
                log.exception("batch %s: result for %s", bid, t.key.custom_id())
                errors[t.key] = f"internal error: {type(e).__name__}: {e}"
                final.add(t.key)
        self.journal.close_batch(bid)

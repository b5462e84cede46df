"""A loopback HTTP server speaking enough of the Anthropic Messages API for the autointerp tests.

It is a real ``ThreadingHTTPServer`` on 127.0.0.1 that the real ``anthropic`` SDK talks to via
``base_url``. Its "model" answers deterministically from the prompt, like a careful reader:
- explanation: collects the ``<<marked>>`` tokens of the examples and labels the feature
  ``tok:a|b|c`` (class ``uninterpretable`` when more than 10 different tokens are marked);
- detection: says 1 for an excerpt containing any token named in the label;
- fuzzing: says 1 when every marked span consists of tokens named in the label.
It can be told to fail: a queue of faults (``429`` with retry-after, ``529`` overloaded, ``500``,
``bad_content`` (non-JSON model text), ``bad_body`` (non-JSON HTTP body), ``hang``, and replies
of odd shapes: ``not_message`` (HTTP 200 JSON that is not a Message), ``no_text`` (a Message whose
only block is not text), ``max_tokens`` (text cut off, stop_reason max_tokens), ``refusal``)
consumed by the next requests, or a seeded random ``fault_rate`` per fault; ``hold_after=N``
answers N requests and then holds every later one (for the kill test). It counts *successful*
answers per request key (hash of system + messages) and logs every request's headers.
Usage follows the API: a system block marked ``cache_control`` whose text is at least
``cache_min_tokens`` long (4 characters a token) is written to the cache on first sight
(``cache_creation_input_tokens``) and read from it afterwards (``cache_read_input_tokens``);
``input_tokens`` counts the rest. Message Batches: create / retrieve / results.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EXPLAIN_MARK = "explain what a single feature"
DETECT_MARK = "whether the feature activates anywhere"
FUZZ_MARK = "Decide for each excerpt whether its marks"

EXAMPLE_RE = re.compile(r"^Example (\d+): (.*)$", re.M)
SPAN_RE = re.compile(r"<<(.*?)>>")


def request_key(body: dict) -> str:
    return hashlib.sha1(json.dumps([body.get("system"), body.get("messages")], sort_keys=True).encode()).hexdigest()[:16]


def _system_text(body: dict) -> str:
    system = body.get("system", "")
    return system if isinstance(system, str) else "".join(b.get("text", "") for b in system)


def _cached_prefix(body: dict) -> str | None:
    """The system text up to its last ``cache_control`` breakpoint, if any."""
    system = body.get("system", "")
    if isinstance(system, str):
        return None
    marked = [i for i, b in enumerate(system) if b.get("cache_control")]
    return "".join(b.get("text", "") for b in system[: marked[-1] + 1]) if marked else None


def _user_text(body: dict) -> str:
    content = body["messages"][0]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def _label_tokens(user: str) -> list[str]:
    m = re.search(r"^Explanation of the feature: tok:([^\s.]*)", user, re.M)
    return [t for t in m.group(1).split("|") if t] if m else []


def fake_answer(system: str, user: str) -> str:
    """The fake model's reply text for one prompt."""
    examples = EXAMPLE_RE.findall(user)
    if EXPLAIN_MARK in system:
        spans = Counter(s.strip() for _, text in examples for s in SPAN_RE.findall(text))
        distinct = [t for t, _ in spans.most_common()]
        noisy = len(distinct) > 10
        toks = sorted(distinct[:10])
        return json.dumps(
            {
                "label": "tok:" + "|".join(toks),
                "confidence": 0.2 if noisy else 0.9,
                "explanation": "Fires on the marked tokens.",
                "class": "uninterpretable" if noisy else "token-level",
            }
        )
    toks = _label_tokens(user)
    if DETECT_MARK in system:
        return json.dumps([int(any(t in text for t in toks)) for _, text in examples])
    if FUZZ_MARK in system:
        out = []
        for _, text in examples:
            spans = SPAN_RE.findall(text)
            ok = bool(spans)
            for s in spans:
                rest = s
                for t in sorted(toks, key=len, reverse=True):
                    rest = rest.replace(t, "")
                ok = ok and not rest.strip()
            out.append(int(ok))
        return json.dumps(out)
    return "I do not understand the task."


def message_json(body: dict, text: str, cache: set | None = None, cache_min_tokens: int = 1024,
                 stop_reason: str = "end_turn") -> dict:
    n_in = (len(_system_text(body)) + len(_user_text(body))) // 4 + 1
    usage = {"input_tokens": n_in, "output_tokens": len(text) // 4 + 1,
             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    prefix = _cached_prefix(body)
    if cache is not None and prefix is not None and len(prefix) // 4 >= cache_min_tokens:
        n_prefix = len(prefix) // 4
        h = hashlib.sha1((str(body.get("model")) + prefix).encode()).hexdigest()
        usage["cache_read_input_tokens" if h in cache else "cache_creation_input_tokens"] = n_prefix
        usage["input_tokens"] = n_in - n_prefix
        cache.add(h)
    return {
        "id": "msg_" + request_key(body),
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


ERRORS = {
    "429": (429, "rate_limit_error"),
    "529": (529, "overloaded_error"),
    "500": (500, "api_error"),
    "401": (401, "authentication_error"),
    "errored": (500, "api_error"),
}


class FakeAnthropic:
    def __init__(self, delay_s: float = 0.0, hang_s: float = 3.0):
        self.delay_s = delay_s
        self.hang_s = hang_s
        self.faults: deque[str] = deque()
        self.fault_rate: dict[str, float] = {}  # fault → probability per request (seeded)
        self.rng = random.Random(0)
        self.cache: set[str] = set()
        self.cache_min_tokens = 1024
        self.batch_faults: deque[str] = deque()  # per batch entry: "errored" | "bad_content" | ""
        self.success: Counter[str] = Counter()
        self.fault_counts: Counter[str] = Counter()
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.inflight = 0
        self.max_inflight = 0
        self.hold_after: int | None = None
        self.admitted = 0
        self.release = threading.Event()
        self.stopping = threading.Event()
        self.batches: dict[str, dict] = {}
        self.polls_until_ended = 1
        self._server: ThreadingHTTPServer | None = None

    # -------------------------------------------------------------- lifecycle
    def start(self) -> "FakeAnthropic":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # keep test output quiet
                pass

            def do_POST(self):
                fake._handle(self, "POST")

            def do_GET(self):
                fake._handle(self, "GET")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.stopping.set()
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def total_success(self) -> int:
        return sum(self.success.values())

    # -------------------------------------------------------------- plumbing
    def _send(self, h: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict | None = None) -> bool:
        try:
            h.send_response(status)
            h.send_header("content-type", "application/json")
            h.send_header("content-length", str(len(payload)))
            h.send_header("request-id", "req_fake")
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(payload)
            h.wfile.flush()
            return True
        except OSError:  # the client went away (timeout, kill)
            return False

    def _error(self, h, fault: str) -> None:
        status, etype = ERRORS[fault]
        body = json.dumps({"type": "error", "error": {"type": etype, "message": f"fake {fault}"}}).encode()
        self._send(h, status, body, {"retry-after": "0"} if status == 429 else None)

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        n = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(n) if n else b""
        with self.lock:
            self.headers.append({k.lower(): v for k, v in h.headers.items()})
            self.paths.append(f"{method} {h.path}")
        path = h.path.split("?")[0]
        if method == "POST" and path == "/v1/messages":
            return self._messages(h, json.loads(raw))
        if method == "POST" and path == "/v1/messages/batches":
            return self._batch_create(h, json.loads(raw))
        m = re.fullmatch(r"/v1/messages/batches/([\w-]+)(/results)?", path)
        if method == "GET" and m:
            return self._batch_results(h, m.group(1)) if m.group(2) else self._batch_retrieve(h, m.group(1))
        self._send(h, 404, json.dumps({"type": "error", "error": {"type": "not_found_error", "message": path}}).encode())

    # -------------------------------------------------------------- /v1/messages
    def _messages(self, h, body: dict) -> None:
        with self.lock:
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            fault = self.faults.popleft() if self.faults else None
            if fault is None:
                u = self.rng.random()
                for name, p in self.fault_rate.items():
                    if u < p:
                        fault = name
                        break
                    u -= p
            self.admitted += 1
            held = self.hold_after is not None and self.admitted > self.hold_after
        try:
            if held:  # answer nothing until released, then drop the connection
                self.release.wait(30)
                h.close_connection = True
                return
            if self.delay_s:
                time.sleep(self.delay_s)
            if fault:
                with self.lock:
                    self.fault_counts[fault] += 1
                if fault == "hang":
                    self.stopping.wait(self.hang_s)
                    h.close_connection = True
                    return
                if fault == "bad_body":
                    self._send(h, 200, b'{"id": "msg_x", "type": "message", "content": [')
                    return
                if fault == "bad_content":
                    self._send(h, 200, json.dumps(self._message(body, "Sure! {label: oops")).encode())
                    return
                if fault == "not_message":
                    self._send(h, 200, json.dumps({"type": "ok", "detail": "not a message"}).encode())
                    return
                if fault == "no_text":
                    m = self._message(body, "")
                    m["content"] = [{"type": "tool_use", "id": "toolu_x", "name": "f", "input": {}}]
                    self._send(h, 200, json.dumps(m).encode())
                    return
                if fault == "max_tokens":
                    text = fake_answer(_system_text(body), _user_text(body))
                    m = self._message(body, text[: len(text) // 2], stop_reason="max_tokens")
                    self._send(h, 200, json.dumps(m).encode())
                    return
                if fault == "refusal":
                    m = self._message(body, "", stop_reason="refusal")
                    m["content"] = []
                    self._send(h, 200, json.dumps(m).encode())
                    return
                return self._error(h, fault)
            text = fake_answer(_system_text(body), _user_text(body))
            if self._send(h, 200, json.dumps(self._message(body, text)).encode()):
                with self.lock:
                    self.success[request_key(body)] += 1
        finally:
            with self.lock:
                self.inflight -= 1

    def _message(self, body: dict, text: str, stop_reason: str = "end_turn") -> dict:
        with self.lock:
            return message_json(body, text, self.cache, self.cache_min_tokens, stop_reason)

    # -------------------------------------------------------------- batches
    def _batch_json(self, b: dict) -> dict:
        ended = b["polls"] >= self.polls_until_ended
        counts = Counter(r["result"]["type"] for r in b["results"])
        return {
            "id": b["id"],
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else len(b["results"]),
                "succeeded": counts["succeeded"] if ended else 0,
                "errored": counts["errored"] if ended else 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": "2025-01-01T00:00:00Z",
            "expires_at": "2025-01-02T00:00:00Z",
            "ended_at": "2025-01-01T00:01:00Z" if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.base_url}/v1/messages/batches/{b['id']}/results" if ended else None,
        }

    def _batch_create(self, h, body: dict) -> None:
        results = []
        for req in body["requests"]:
            params = req["params"]
            fault = self.batch_faults.popleft() if self.batch_faults else ""
            if fault == "errored":
                res = {"type": "errored", "error": {"type": "error", "error": {"type": "api_error", "message": "boom"}}}
            else:
                text = "not json" if fault == "bad_content" else fake_answer(_system_text(params), _user_text(params))
                res = {"type": "succeeded", "message": self._message(params, text)}
                if not fault:
                    with self.lock:
                        self.success[request_key(params)] += 1
            if fault:
                with self.lock:
                    self.fault_counts["batch_" + fault] += 1
            results.append({"custom_id": req["custom_id"], "result": res})
        with self.lock:
            bid = f"msgbatch_{len(self.batches):04d}"
            self.batches[bid] = {"id": bid, "results": results, "polls": 0}
        self._send(h, 200, json.dumps(self._batch_json(self.batches[bid])).encode())

    def _batch_retrieve(self, h, bid: str) -> None:
        b = self.batches.get(bid)
        if b is None:
            return self._send(h, 404, b'{"type":"error","error":{"type":"not_found_error","message":"no batch"}}')
        with self.lock:
            b["polls"] += 1
        self._send(h, 200, json.dumps(self._batch_json(b)).encode())

    def _batch_results(self, h, bid: str) -> None:
        b = self.batches[bid]
        payload = "".join(json.dumps(r) + "\n" for r in b["results"]).encode()
        try:
            h.send_response(200)
            h.send_header("content-type", "application/binary")
            h.send_header("content-length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        except OSError:
            pass

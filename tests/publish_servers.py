"""Loopback servers speaking the subset of the Hugging Face Hub and Neuronpedia APIs that
``r1interp publish`` uses, run as real processes and driven through the real client libraries.

``python tests/publish_servers.py hub --token T`` / ``... neuronpedia --api-key K`` prints
``PORT <n>`` once listening. ``GET /_state`` returns what the server holds and every request it
received (method, path), so tests can assert what was (not) sent.

Hub subset (huggingface_hub 0.36): ``POST /api/repos/create``, ``GET /api/models/{repo}/tree/{rev}``,
``POST /api/models/{repo}/preupload/{rev}``, ``POST /api/validate-yaml``, the git-LFS batch API (basic transfer) with ``PUT`` to
the returned href, ``POST /api/models/{repo}/commit/{rev}`` (NDJSON). Files of 1 KiB or more, and
every ``*.safetensors`` / ``*.sqlite``, go through LFS as on the real Hub.
Neuronpedia subset (neuronpedia 1.2): ``POST /api/graph/signed-put``, ``PUT`` of the gzipped
graph to the signed URL, ``POST /api/graph/save-to-db``, ``GET /api/graph/{model}/{slug}``.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

LOCK = threading.Lock()
LOG: list[tuple[str, str]] = []


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):  # quiet
        pass

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code: int, payload=None, ctype="application/json", headers=None) -> None:
        body = b"" if payload is None else (payload if isinstance(payload, bytes) else json.dumps(payload).encode())
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method: str) -> None:
        path = urlparse(self.path).path
        body = self._body()
        with LOCK:
            LOG.append((method, path))
        if path == "/_state":
            with LOCK:
                return self._send(200, {"log": LOG, "state": self.server.app.state()})
        signed = path.startswith(("/_lfs/", "/_s3/"))  # pre-signed upload URLs carry no credentials
        if not signed and not self.server.app.authorized(self.headers):
            return self._send(401, {"error": "Invalid credentials"}, headers={"X-Error-Code": "Unauthorized"})
        try:
            with LOCK:
                code, payload = self.server.app.handle(method, path, body, self.headers, f"http://127.0.0.1:{self.server.server_port}")
        except KeyError as e:
            code, payload = 404, {"error": f"not found: {e}"}
        self._send(code, payload, headers={"X-Error-Code": "EntryNotFound"} if code == 404 else None)

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PUT(self):
        self._route("PUT")


class Hub:
    def __init__(self, token: str):
        self.token = token
        self.repos: dict[str, dict[str, dict]] = {}  # repo → path → {data, lfs_oid}
        self.lfs: dict[str, bytes] = {}
        self.commits = 0

    def authorized(self, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {self.token}"

    def state(self) -> dict:
        return {"repos": {r: sorted(files) for r, files in self.repos.items()}, "lfs_objects": len(self.lfs), "commits": self.commits}

    @staticmethod
    def _lfs(path: str, size: int) -> bool:
        return size >= 1024 or path.endswith((".safetensors", ".sqlite"))

    def _entry(self, path: str, f: dict) -> dict:
        e = {"type": "file", "path": path, "size": len(f["data"]), "oid": git_sha1(f["data"])}
        if f["lfs_oid"]:
            e["lfs"] = {"oid": f["lfs_oid"], "size": len(f["data"]), "pointerSize": 134}
        return e

    def handle(self, method, path, body, headers, base):
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/api/repos/create":
            req = json.loads(body)
            repo = f"{req['organization']}/{req['name']}" if req.get("organization") else req["name"]
            if repo in self.repos:
                return 409, {"error": "You already created this model repo", "url": f"{base}/{repo}"}
            self.repos[repo] = {}
            return 200, {"url": f"{base}/{repo}"}
        if method == "POST" and path == "/api/validate-yaml":  # the README's front matter, checked before a commit
            import yaml

            text = json.loads(body)["content"]
            try:
                meta = yaml.safe_load(text.split("---")[1]) if text.startswith("---") else None
            except yaml.YAMLError as e:
                return 400, {"errors": [{"message": f"invalid YAML: {e}"}]}
            return 200, {"errors": [], "warnings": [] if meta else [{"message": "empty metadata"}]}
        if parts[:2] == ["api", "models"] and len(parts) >= 6:
            repo, op = f"{parts[2]}/{parts[3]}", parts[4]
            files = self.repos[repo]
            if method == "GET" and op == "tree":
                prefix = "/".join(parts[6:])
                return 200, [self._entry(p, f) for p, f in sorted(files.items()) if p.startswith(prefix)]
            if method == "POST" and op == "preupload":
                out = []
                for f in json.loads(body)["files"]:
                    lfs = self._lfs(f["path"], f["size"])
                    have = files.get(f["path"])
                    oid = None if have is None else (have["lfs_oid"] or git_sha1(have["data"]))
                    out.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid})
                return 200, {"files": out}
            if method == "POST" and op == "commit":
                for line in body.splitlines():
                    item = json.loads(line)
                    v = item["value"]
                    if item["key"] == "file":
                        files[v["path"]] = {"data": base64.b64decode(v["content"]), "lfs_oid": None}
                    elif item["key"] == "lfsFile":
                        if v["oid"] not in self.lfs:
                            return 422, {"error": f"LFS object {v['oid']} was never uploaded"}
                        files[v["path"]] = {"data": self.lfs[v["oid"]], "lfs_oid": v["oid"]}
                self.commits += 1
                sha = uuid.uuid4().hex + "00000000"
                return 200, {"commitUrl": f"{base}/{repo}/commit/{sha}", "commitOid": sha, "pullRequestUrl": None}
        if method == "POST" and path.endswith(".git/info/lfs/objects/batch"):
            objs = []
            for o in json.loads(body)["objects"]:
                entry = {"oid": o["oid"], "size": o["size"]}
                if o["oid"] not in self.lfs:
                    entry["actions"] = {"upload": {"href": f"{base}/_lfs/{o['oid']}"}}
                objs.append(entry)
            return 200, {"transfer": "basic", "objects": objs}
        if method == "PUT" and parts[0] == "_lfs":
            if hashlib.sha256(body).hexdigest() != parts[1]:
                return 400, {"error": "sha256 mismatch"}
            self.lfs[parts[1]] = body
            return 200, {}
        raise KeyError(path)


class Neuronpedia:
    def __init__(self, api_key: str):
        self.api_key = api_key
        self.pending: dict[str, dict] = {}  # putRequestId → {filename, data}
        self.graphs: dict[tuple[str, str], dict] = {}

    def authorized(self, headers) -> bool:
        return headers.get("X-Api-Key") == self.api_key

    def state(self) -> dict:
        return {"graphs": sorted(f"{m}/{s}" for m, s in self.graphs)}

    def handle(self, method, path, body, headers, base):
        if method == "POST" and path == "/api/graph/signed-put":
            req = json.loads(body)
            pid = uuid.uuid4().hex
            self.pending[pid] = {"filename": req["filename"], "length": req["contentLength"], "data": None}
            return 200, {"url": f"{base}/_s3/{pid}", "putRequestId": pid}
        if method == "PUT" and path.startswith("/_s3/"):
            pid = path.rsplit("/", 1)[1]
            if len(body) != self.pending[pid]["length"]:
                return 400, {"error": "content length differs from the signed request"}
            self.pending[pid]["data"] = gzip.decompress(body)
            return 200, {}
        if method == "POST" and path == "/api/graph/save-to-db":
            item = self.pending.pop(json.loads(body)["putRequestId"])
            graph = json.loads(item["data"])
            meta = graph["metadata"]
            key = (meta["scan"], meta["slug"])
            self.graphs[key] = graph
            return 200, {"url": f"{base}/{key[0]}/graph?slug={key[1]}"}
        if method == "GET" and path.startswith("/api/graph/"):
            model, slug = path[len("/api/graph/"):].split("/", 1)
            graph = self.graphs[(model, slug)]
            meta = graph["metadata"]
            return 200, {"id": f"{model}/{slug}", "modelId": model, "slug": slug, "promptTokens": meta["prompt_tokens"],
                         "prompt": meta["prompt"], "titlePrefix": meta.get("title_prefix", ""), "url": f"{base}/_s3/{slug}.json"}
        raise KeyError(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["hub", "neuronpedia"])
    ap.add_argument("--token", default="")
    ap.add_argument("--api-key", default="")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.app = Hub(args.token) if args.kind == "hub" else Neuronpedia(args.api_key)
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

"""Sync a release folder to a Hugging Face model repo with ``huggingface_hub``.

Only files whose content differs from the repo's are sent: the remote tree's ids (git blob sha1
for regular files, the LFS sha256 for large ones) are compared with the local files', so a
second publish of the same folder makes no commit at all. The token comes from the environment
(``HF_TOKEN``; a token cached by ``huggingface-cli login`` is not used) and is never logged.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from r1interp.publish.release import list_files

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    commit_url: str | None = None


def git_blob_sha1(path: Path) -> str:
    h = hashlib.sha1()
    h.update(f"blob {path.stat().st_size}\0".encode())
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def remote_files(api, repo_id: str, revision: str) -> dict[str, object]:
    """``{path: RepoFile}`` of the repo at ``revision`` (empty for a fresh repo)."""
    from huggingface_hub.hf_api import RepoFile

    return {e.path: e for e in api.list_repo_tree(repo_id, recursive=True, revision=revision) if isinstance(e, RepoFile)}


def same_content(local: Path, remote) -> bool:
    if remote.size != local.stat().st_size:
        return False
    if remote.lfs is not None:
        return remote.lfs.sha256 == file_sha256(local)
    return remote.blob_id == git_blob_sha1(local)


def upload_release(folder: str | Path, repo_id: str, *, token: str, endpoint: str | None = None, private: bool = False,
                   revision: str = "main", message: str = "r1interp publish") -> SyncResult:
    """Create the repo if needed and commit the files that are new or changed."""
    from huggingface_hub import HfApi, constants

    folder = Path(folder)
    api = HfApi(endpoint=endpoint, token=token)
    # huggingface_hub parses the commit URLs the server returns against its global endpoint
    # (HF_ENDPOINT at import time); a per-call endpoint must be that endpoint while we talk to it.
    saved, constants.ENDPOINT = constants.ENDPOINT, (endpoint or constants.ENDPOINT).rstrip("/")
    try:
        return _sync(api, folder, repo_id, private, revision, message)
    finally:
        constants.ENDPOINT = saved


def _sync(api, folder: Path, repo_id: str, private: bool, revision: str, message: str) -> SyncResult:
    from huggingface_hub import CommitOperationAdd

    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    remote = remote_files(api, repo_id, revision)
    result = SyncResult()
    ops = []
    for f in list_files(folder):
        local = folder / f.path
        if f.path in remote and same_content(local, remote[f.path]):
            result.unchanged.append(f.path)
        else:
            result.uploaded.append(f.path)
            ops.append(CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=str(local)))
    log.info("%s: %d files to upload, %d already there", repo_id, len(ops), len(result.unchanged))
    if ops:
        info = api.create_commit(repo_id, ops, commit_message=message, revision=revision, repo_type="model")
        result.commit_url = info.commit_url
    return result

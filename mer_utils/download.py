"""Checksummed, resumable, cached downloads with an actionable error when offline.

Real download code paths are kept (official URL + sha256) even though the machines this
compendium is developed on are offline: a user online gets the file; a user offline gets
:class:`DownloadError` naming what is missing, the URL, and where to place the file.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A file could not be fetched; the message says where to put it by hand."""


def sha256sum(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _check(path: Path, sha256: str | None, what: str) -> None:
    if sha256 is None:
        return
    got = sha256sum(path)
    if got.lower() != sha256.lower():
        raise DownloadError(
            f"{what}: checksum mismatch for {path} (sha256 {got}, expected {sha256}). "
            f"The file is corrupt or a different version; delete it and fetch it again.")


def fetch(url: str, dest: Path | str, *, sha256: str | None, what: str,
          timeout: float = 30.0) -> Path:
    """Return ``dest``, downloading ``url`` there first if it is not already present.

    * present and checksum matches -> returned without network access;
    * a partial ``dest.part`` from an interrupted run is resumed with an HTTP Range request;
    * the checksum is verified before the file is moved into place (atomic rename);
    * ``file://`` URLs work too (used by the tests and for mirrors on a local disk);
    * no network -> :class:`DownloadError` telling the user where to put the file.
    """
    dest = Path(dest)
    if dest.exists():
        _check(dest, sha256, what)
        return dest
    if os.environ.get("MER_OFFLINE") == "1":
        raise DownloadError(_offline_message(what, url, dest, "MER_OFFLINE=1 is set"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "mer_utils"})
    if start and not url.startswith("file:"):
        req.add_header("Range", f"bytes={start}-")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status = getattr(resp, "status", None)
            if start and status != 206:  # server ignored the range: start over
                start = 0
            mode = "ab" if start else "wb"
            if url.startswith("file:") and start:
                resp.read(start)
                mode = "ab"
            with open(part, mode) as out:
                shutil.copyfileobj(resp, out, _CHUNK)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DownloadError(_offline_message(what, url, dest, str(exc))) from exc
    try:
        _check(part, sha256, what)
    except DownloadError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    return dest


def _offline_message(what: str, url: str, dest: Path, reason: str) -> str:
    return (f"Could not download {what} ({reason}).\n"
            f"  Download it by hand from {url}\n"
            f"  and place it at {dest}\n"
            f"  (or pass the path of a copy you already have).")

"""What a watched location (CATALOG_INGEST_WATCH_URI) offers: its manifests, each with a
fingerprint from the listing and, once read, its content hash.

A manifest is a file or object named `*.jsonl`, `*.jsonl.gz` or `*.parquet` anywhere
under the location, with no path segment starting with "." or "_": hidden and temporary
names (`.scenes.jsonl.tmp`, `.scenes.jsonl`), Spark's `_temporary/` folder and its
`_SUCCESS` marker are never read.

S3 objects appear whole (a PUT is atomic), so they are offered at once. A local file may
still be being written: it is offered only once it has not been modified for
CATALOG_INGEST_WATCH_SETTLE_S seconds, and its hash counts only if its size and
modification time are the same after reading it as before. (Should a writer stall for
longer than that mid-file, the partial file is ingested - valid lines land, a cut line
is rejected - and the complete file, whose hash differs, is ingested again once written:
ingestion is idempotent.)
"""

import hashlib
import logging
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from catalog import storage, uris

logger = logging.getLogger(__name__)

MANIFEST_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")
READ_BYTES = 1 << 20


@dataclass(frozen=True)
class Candidate:
    uri: str  # canonical (catalog.uris)
    size_bytes: int
    fingerprint: str  # changes whenever the file or object is written again


class Unsettled(Exception):
    """The local file changed while it was read: it is still being written."""


def watch_root() -> str | None:
    """The configured watched location as a canonical URI (a folder: no trailing
    slash; an S3 prefix: `s3://bucket/prefix/`), or None when watching is off."""
    raw = settings.CATALOG_INGEST_WATCH_URI
    if not raw:
        return None
    if uris.is_s3(raw):
        bucket, prefix = _s3_parts(raw)
        return f"s3://{bucket}/{prefix}"
    return uris.location(raw)


def is_manifest_name(relative: str) -> bool:
    """`relative` (slash-separated, under the watched root) names a manifest to read."""
    parts = [part for part in relative.split("/") if part]
    if not parts or any(part.startswith((".", "_")) for part in parts):
        return False
    return parts[-1].lower().endswith(MANIFEST_SUFFIXES)


def list_candidates(root: str, *, now: float | None = None) -> list[Candidate]:
    """The manifests under `root` (from `watch_root`) that are ready to read, by URI."""
    found = _s3_candidates(root) if uris.is_s3(root) else _local_candidates(root, now)
    return sorted(found, key=lambda c: c.uri)


def content_sha256(candidate: Candidate) -> str:
    """The sha256 of the manifest's bytes as stored (before any gunzip). Raises
    Unsettled for a local file that changed meanwhile, StorageError if unreadable."""
    digest = hashlib.sha256()
    if uris.is_s3(candidate.uri):
        for chunk in storage.iter_chunks(candidate.uri, READ_BYTES):
            digest.update(chunk)
        return digest.hexdigest()
    path = uris.local_path(candidate.uri)
    with storage.open_read(candidate.uri) as stream:
        while chunk := stream.read(READ_BYTES):
            digest.update(chunk)
    try:
        after = _fingerprint(os.stat(path))
    except OSError as exc:
        raise Unsettled(str(exc)) from exc
    if after != candidate.fingerprint:
        raise Unsettled("changed while it was read")
    return digest.hexdigest()


# --- local folders -------------------------------------------------------------------------


def _fingerprint(info: os.stat_result) -> str:
    return f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"


def _local_candidates(root: str, now: float | None) -> Iterator[Candidate]:
    folder = uris.local_path(root)
    if not os.path.isdir(folder):
        logger.warning("CATALOG_INGEST_WATCH_URI: %s is not a folder", root)
        return
    now = time.time() if now is None else now
    settle_s = settings.CATALOG_INGEST_WATCH_SETTLE_S
    for parent, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for name in files:
            path = os.path.join(parent, name)
            if not is_manifest_name(os.path.relpath(path, folder).replace(os.sep, "/")):
                continue
            try:
                info = os.stat(path)
            except OSError:
                continue  # removed or renamed since the folder was read
            if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < settle_s:
                continue
            try:
                uri = uris.location(path)
            except uris.UriRejected:
                continue  # a name no URI can hold (control characters, bad UTF-8)
            yield Candidate(uri, info.st_size, _fingerprint(info))


# --- S3 ------------------------------------------------------------------------------------


def _s3_parts(uri: str) -> tuple[str, str]:
    """(bucket, key prefix ending in "/" or empty) of `s3://bucket[/prefix[/]]`."""
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise uris.UriRejected("expected s3://bucket/prefix/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def _s3_candidates(root: str) -> Iterator[Candidate]:
    bucket, prefix = _s3_parts(root)
    pages = storage.s3_client().get_paginator("list_objects_v2")
    try:
        for page in pages.paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if not is_manifest_name(key[len(prefix) :]):
                    continue
                uri = f"s3://{bucket}/{key}"
                try:
                    uris.split_s3(uri)
                except uris.UriRejected:
                    continue  # a key no manifest URI can name (e.g. holding "?" or "#")
                etag = str(obj.get("ETag", "")).strip('"')
                yield Candidate(uri, int(obj["Size"]), f"{etag}:{obj['Size']}")
    except (ClientError, BotoCoreError) as exc:
        raise storage.StorageError(f"cannot list {root}: {exc}") from exc

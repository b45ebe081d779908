"""Brings a model directory named by AIP_STORAGE_URI onto local disk.

Vertex copies a model's artifacts to a service-managed gs:// prefix and leaves the download to
the container (prediction containers get no GCS FUSE mount). A local path is used where it is.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


class StorageError(Exception):
    """The model directory could not be found or downloaded."""


def split_gcs_uri(uri: str) -> tuple[str, str]:
    """gs://bucket/some/prefix -> ("bucket", "some/prefix")."""
    if not uri.startswith("gs://"):
        raise StorageError(f"not a gs:// URI: {uri!r}")
    bucket, _, prefix = uri[len("gs://") :].partition("/")
    if not bucket:
        raise StorageError(f"no bucket in {uri!r}")
    return bucket, prefix.strip("/")


def materialize_model_dir(uri: str, cache_dir: Path) -> Path:
    """The local directory holding the model: ``uri`` itself, or a download of the gs:// prefix."""
    if uri.startswith("gs://"):
        return _download_prefix(uri, cache_dir)
    if "://" in uri:
        raise StorageError(f"unsupported model location {uri!r}: use gs:// or a local directory")
    path = Path(uri)
    if not path.is_dir():
        raise StorageError(f"model directory {path} does not exist")
    return path


def _download_prefix(uri: str, cache_dir: Path) -> Path:
    from google.cloud import storage  # imported here: only a gs:// model needs the client

    bucket_name, prefix = split_gcs_uri(uri)
    client = storage.Client()
    cache_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    for blob in client.list_blobs(bucket_name, prefix=f"{prefix}/" if prefix else None):
        relative = blob.name[len(prefix) :].lstrip("/") if prefix else blob.name
        if not relative or relative.endswith("/"):
            continue  # the prefix itself, or a folder placeholder
        target = (cache_dir / relative).resolve()
        if cache_dir.resolve() not in target.parents:
            raise StorageError(f"refusing to write {blob.name} outside {cache_dir}")
        target.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(target))
        count += 1
    if count == 0:
        raise StorageError(f"no files under {uri}")
    log.info("downloaded %d files from %s to %s", count, uri, cache_dir)
    return cache_dir

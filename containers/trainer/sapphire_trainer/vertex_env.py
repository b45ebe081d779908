"""Vertex AI CustomJob's contract: the one module of the trainer that reads AIP_* variables.

Vertex sets, for a CustomJob with a base output directory
(https://cloud.google.com/vertex-ai/docs/training/code-requirements#environment-variables):

- AIP_MODEL_DIR: where the model goes (gs://.../model/); Vertex imports the model from there.
- AIP_CHECKPOINT_DIR: checkpoints (gs://.../checkpoints/); kept across a preempted job's restart.
- AIP_TENSORBOARD_LOG_DIR: TensorBoard event files (gs://.../logs/).
- AIP_TRAINING_DATA_URI, AIP_VALIDATION_DATA_URI: set for managed datasets; --train and
  --validation default to them.

Cloud Storage FUSE mounts every bucket at /gcs/ in a CustomJob, so gs://bucket/path is read and
written as the file /gcs/bucket/path. Local paths pass through unchanged (local runs, tests).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

GCS_FUSE_ROOT = Path("/gcs")


class VertexEnvError(Exception):
    """A location that is neither gs:// nor a local path."""


def local_path(uri: str, fuse_root: Path = GCS_FUSE_ROOT) -> Path:
    """gs://bucket/a/b -> /gcs/bucket/a/b (the CustomJob's FUSE mount); a local path as it is."""
    if uri.startswith("gs://"):
        bucket, _, rest = uri[len("gs://") :].partition("/")
        if not bucket:
            raise VertexEnvError(f"no bucket in {uri!r}")
        return fuse_root / bucket / rest.strip("/") if rest.strip("/") else fuse_root / bucket
    if "://" in uri:
        raise VertexEnvError(f"unsupported location {uri!r}: use gs:// or a local path")
    return Path(uri)


@dataclass(frozen=True)
class TrainingEnv:
    model_dir: Path | None
    checkpoint_dir: Path | None
    tensorboard_log_dir: Path | None
    training_data_uri: str | None
    validation_data_uri: str | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None, fuse_root: Path = GCS_FUSE_ROOT) -> TrainingEnv:
        env = os.environ if environ is None else environ

        def path(name: str) -> Path | None:
            value = env.get(name, "").strip()
            return local_path(value, fuse_root) if value else None

        return cls(
            model_dir=path("AIP_MODEL_DIR"),
            checkpoint_dir=path("AIP_CHECKPOINT_DIR"),
            tensorboard_log_dir=path("AIP_TENSORBOARD_LOG_DIR"),
            training_data_uri=env.get("AIP_TRAINING_DATA_URI", "").strip() or None,
            validation_data_uri=env.get("AIP_VALIDATION_DATA_URI", "").strip() or None,
        )

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from google.cloud import storage

from sapphire_common.storage import StorageError, materialize_model_dir, split_gcs_uri


@dataclass
class FakeBlob:
    name: str
    content: bytes

    def download_to_filename(self, filename: str) -> None:
        Path(filename).write_bytes(self.content)


class FakeClient:
    """Stands in for storage.Client: the listing Vertex's copy of a model directory would give."""

    blobs: ClassVar[list[FakeBlob]] = []

    def list_blobs(self, bucket: str, prefix: str | None = None):
        assert bucket == "vertex-models"
        return [b for b in self.blobs if prefix is None or b.name.startswith(prefix)]


@pytest.fixture
def fake_gcs(monkeypatch):
    monkeypatch.setattr(storage, "Client", FakeClient)
    return FakeClient


def test_split_gcs_uri():
    assert split_gcs_uri("gs://b/a/b/") == ("b", "a/b")
    assert split_gcs_uri("gs://b") == ("b", "")
    with pytest.raises(StorageError):
        split_gcs_uri("gs:///x")


def test_a_local_directory_is_used_in_place(tmp_path):
    assert materialize_model_dir(str(tmp_path), tmp_path / "cache") == tmp_path
    with pytest.raises(StorageError, match="does not exist"):
        materialize_model_dir(str(tmp_path / "missing"), tmp_path / "cache")
    with pytest.raises(StorageError, match="unsupported"):
        materialize_model_dir("s3://bucket/model", tmp_path / "cache")


def test_a_gcs_model_directory_is_downloaded_with_its_layout(fake_gcs, tmp_path):
    fake_gcs.blobs = [
        FakeBlob("run-7/model/", b""),
        FakeBlob("run-7/model/sapphire_model.json", b"{}"),
        FakeBlob("run-7/model/predictor/prediction-net-state.pt", b"weights"),
        FakeBlob("run-7/model-other/x", b"not ours"),
    ]
    local = materialize_model_dir("gs://vertex-models/run-7/model", tmp_path / "cache")
    assert sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file()) == [
        "predictor/prediction-net-state.pt",
        "sapphire_model.json",
    ]
    assert (local / "predictor" / "prediction-net-state.pt").read_bytes() == b"weights"


def test_an_empty_prefix_or_an_escaping_name_is_refused(fake_gcs, tmp_path):
    fake_gcs.blobs = []
    with pytest.raises(StorageError, match="no files"):
        materialize_model_dir("gs://vertex-models/nothing", tmp_path / "cache")
    fake_gcs.blobs = [FakeBlob("m/../../etc/passwd", b"x")]
    with pytest.raises(StorageError, match="outside"):
        materialize_model_dir("gs://vertex-models/m", tmp_path / "cache")

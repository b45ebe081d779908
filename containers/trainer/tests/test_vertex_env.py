from pathlib import Path

import pytest

from sapphire_trainer.vertex_env import TrainingEnv, VertexEnvError, local_path


def test_gs_uris_map_to_the_gcs_fuse_mount():
    assert local_path("gs://sapphire-models/runs/7/model/") == Path("/gcs/sapphire-models/runs/7/model")
    assert local_path("gs://sapphire-models") == Path("/gcs/sapphire-models")


def test_local_paths_pass_through():
    assert local_path("/tmp/model") == Path("/tmp/model")
    assert local_path("relative/dir") == Path("relative/dir")


@pytest.mark.parametrize("uri", ["gs://", "gs:///path", "s3://bucket/x", "https://example.com/x"])
def test_other_locations_are_refused(uri):
    with pytest.raises(VertexEnvError):
        local_path(uri)


def test_the_customjob_variables_are_read_and_mapped():
    env = TrainingEnv.from_environ(
        {
            "AIP_MODEL_DIR": "gs://b/job/model/",
            "AIP_CHECKPOINT_DIR": "gs://b/job/checkpoints/",
            "AIP_TENSORBOARD_LOG_DIR": "gs://b/job/logs/",
            "AIP_TRAINING_DATA_URI": "gs://b/data/training-*",
            "AIP_VALIDATION_DATA_URI": "gs://b/data/validation-*",
        },
        fuse_root=Path("/mnt/gcs"),
    )
    assert env.model_dir == Path("/mnt/gcs/b/job/model")
    assert env.checkpoint_dir == Path("/mnt/gcs/b/job/checkpoints")
    assert env.tensorboard_log_dir == Path("/mnt/gcs/b/job/logs")
    assert env.training_data_uri == "gs://b/data/training-*"
    assert env.validation_data_uri == "gs://b/data/validation-*"


def test_outside_vertex_nothing_is_set():
    env = TrainingEnv.from_environ({})
    assert (env.model_dir, env.checkpoint_dir, env.tensorboard_log_dir) == (None, None, None)

from pathlib import Path

import yaml

CONTAINERS = Path(__file__).resolve().parents[2]
IMAGES = ("trainer", "lagllama-serving", "llm-serving")


def test_cloud_build_builds_and_pushes_the_three_images_tagged_with_the_commit():
    config = yaml.safe_load((CONTAINERS / "cloudbuild.yaml").read_text())
    expected = [f"${{_REGION}}-docker.pkg.dev/$PROJECT_ID/${{_REPOSITORY}}/{image}:$COMMIT_SHA" for image in IMAGES]
    assert config["images"] == expected
    for step, image, tag in zip(config["steps"], IMAGES, expected, strict=True):
        assert step["args"][0] == "build"
        assert f"--file=containers/{image}/Dockerfile" in step["args"]
        assert f"--tag={tag}" in step["args"]
        assert step["args"][-1] == "containers"
        assert (CONTAINERS / image / "Dockerfile").is_file()


def test_every_dockerfile_copies_only_what_exists_in_the_context():
    for image in IMAGES:
        for line in (CONTAINERS / image / "Dockerfile").read_text().splitlines():
            if line.startswith("COPY "):
                source = line.split()[1]
                assert (CONTAINERS / source).exists(), (
                    f"{image}/Dockerfile copies {source}, which is not in containers/"
                )

"""An LLM model directory (see sapphire_common.artifacts) answering schema-valid JSON text."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sapphire_common.artifacts import ArtifactError, LlmManifest, read_manifest
from sapphire_common.vertex_http import BadRequest

from .constrained import GenerationError
from .engines import Engine
from .instances import parse_instance, present
from .settings import LlmSettings

log = logging.getLogger(__name__)


def base_model_location(model_dir: Path, manifest: LlmManifest, override: str | None) -> str:
    """SAPPHIRE_BASE_MODEL, else the base bundled in the directory, else the manifest's base."""
    if override:
        return override
    if manifest.base_dir:
        bundled = model_dir / manifest.base_dir
        if not bundled.is_dir():
            raise ArtifactError(f"the manifest bundles the base model in {bundled}, which is missing")
        return str(bundled)
    return manifest.base_model


def load_engine(model_dir: Path, manifest: LlmManifest, settings: LlmSettings) -> Engine:
    base = base_model_location(model_dir, manifest, settings.base_model)
    log.info("loading %s engine: base %s, adapter %s", settings.engine, base, model_dir / manifest.adapter_dir)
    if settings.engine == "vllm":
        from .engines.vllm_engine import VllmEngine

        return VllmEngine(model_dir, manifest, base, settings)
    from .engines.transformers_engine import TransformersEngine

    return TransformersEngine(model_dir, manifest, base, settings)


@dataclass
class LlmModel:
    manifest: LlmManifest
    engine: Engine

    @classmethod
    def load(cls, model_dir: Path, settings: LlmSettings) -> LlmModel:
        manifest = read_manifest(model_dir)
        if not isinstance(manifest, LlmManifest):
            raise ArtifactError(f"{model_dir} holds a {manifest.kind} model, not an LLM")
        return cls(manifest, load_engine(model_dir, manifest, settings))

    def predict(self, instances: list[Any], parameters: Any = None) -> list[str]:
        del parameters  # everything is per instance
        requests = [parse_instance(i, raw) for i, raw in enumerate(instances)]
        try:
            texts = self.engine.generate(requests)
        except GenerationError as problem:
            raise BadRequest(str(problem)) from None
        for i, (request, text) in enumerate(zip(requests, texts, strict=True)):
            # Valid by construction; checked all the same, because a trade hangs on it.
            problems = request.schema.validate(json.loads(text))
            if problems:
                raise RuntimeError(f"instances[{i}]: the {self.engine.name} engine produced invalid JSON: {problems}")
        return [present(request, text) for request, text in zip(requests, texts, strict=True)]

"""The HTTP side of Vertex AI's custom-container contract, for any model with ``predict``.

- The server listens at once, so Vertex's TCP liveness probe passes while the model loads in a
  background thread; the health route answers 503 until the model is ready, then 200.
- POST to the predict route: ``{"instances": [...], "parameters": ...}`` -> ``{"predictions": [...]}``,
  one prediction per instance, in order.
- Every error is a JSON object ``{"error": "..."}``: 400 for a request the model cannot take
  (the message names the failing instance and field), 503 while loading, 500 for a fault of the
  server (logged with its traceback here, never sent to the client).
- A model that fails to load stops the process with exit code 1, so Vertex restarts it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .serving_env import ServingEnv

log = logging.getLogger("sapphire.serving")

#: Vertex refuses online prediction requests above 1.5 MB; anything bigger is not from Vertex.
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_MAX_INSTANCES = 64


class BadRequest(Exception):
    """A request the model cannot take; its message is sent to the client with a 400."""


class Model(Protocol):
    def predict(self, instances: list[Any], parameters: Any) -> list[Any]:
        """One prediction per instance; raises BadRequest for an instance it cannot take."""
        ...


@dataclass
class ModelSlot:
    """The model once loaded, or why it is not."""

    name: str
    model: Model | None = None
    failure: str | None = None
    loaded_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, model: Model) -> None:
        with self._lock:
            self.model = model
            self.loaded_at = time.time()

    def fail(self, reason: str) -> None:
        with self._lock:
            self.failure = reason


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_body(body: bytes, max_instances: int) -> tuple[list[Any], Any]:
    """The instances and parameters of a predict request, or BadRequest."""
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as problem:
        raise BadRequest(f"the body is not valid JSON: {problem}") from None
    if not isinstance(payload, dict):
        raise BadRequest('the body must be a JSON object {"instances": [...]}')
    instances = payload.get("instances")
    if not isinstance(instances, list):
        raise BadRequest('"instances" must be an array')
    if not instances:
        raise BadRequest('"instances" must not be empty')
    if len(instances) > max_instances:
        raise BadRequest(f'"instances" has {len(instances)} items; at most {max_instances} per request')
    return instances, payload.get("parameters")


def create_app(
    env: ServingEnv,
    slot: ModelSlot,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_instances: int = DEFAULT_MAX_INSTANCES,
) -> Starlette:
    async def health(_: Request) -> JSONResponse:
        if slot.model is not None:
            return JSONResponse({"status": "ready", "model": slot.name})
        if slot.failure is not None:
            return JSONResponse({"status": "failed", "error": slot.failure}, status_code=503)
        return JSONResponse({"status": "loading"}, status_code=503)

    async def predict(request: Request) -> JSONResponse:
        model = slot.model
        if model is None:
            return error(503, "the model is not loaded yet")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            return error(413, f"the body is larger than {max_body_bytes} bytes")
        body = await request.body()
        if len(body) > max_body_bytes:
            return error(413, f"the body is larger than {max_body_bytes} bytes")
        try:
            instances, parameters = parse_body(body, max_instances)
            predictions = await run_in_threadpool(model.predict, instances, parameters)
        except BadRequest as problem:
            return error(400, str(problem))
        except Exception:
            log.exception("prediction failed")
            return error(500, "internal error while predicting; see the server log")
        if len(predictions) != len(instances):
            log.error("model answered %d predictions for %d instances", len(predictions), len(instances))
            return error(500, "internal error: prediction count does not match the instances")
        return JSONResponse({"predictions": predictions})

    async def http_error(_: Request, problem: Exception) -> JSONResponse:
        status = problem.status_code if isinstance(problem, HTTPException) else 500
        detail = problem.detail if isinstance(problem, HTTPException) else "internal error"
        return error(status, str(detail))

    async def unexpected(_: Request, problem: Exception) -> JSONResponse:
        log.error("unhandled error: %r", problem)
        return error(500, "internal error")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        log.info(
            "serving %s: health %s, predict %s, port %d (deployed model %s, endpoint %s)",
            slot.name,
            env.health_route,
            env.predict_route,
            env.http_port,
            env.deployed_model_id or "-",
            env.endpoint_id or "-",
        )
        yield

    return Starlette(
        routes=[
            Route(env.health_route, health, methods=["GET"]),
            Route(env.predict_route, predict, methods=["POST"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: unexpected},
        lifespan=lifespan,
    )


def serve(env: ServingEnv, name: str, load_model: Callable[[], Model], **app_options: Any) -> int:
    """Runs the server until it is stopped; returns the process exit code."""
    import uvicorn

    slot = ModelSlot(name=name)
    app = create_app(env, slot, **app_options)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=env.host,
            port=env.http_port,
            log_level="info",
            access_log=False,  # health checks every few seconds would drown the log
            timeout_keep_alive=65,
        )
    )
    exit_code = 0

    def load() -> None:
        nonlocal exit_code
        started = time.monotonic()
        try:
            slot.set(load_model())
        except Exception as problem:
            log.exception("could not load the model")
            slot.fail(f"{type(problem).__name__}: {problem}")
            exit_code = 1
            server.should_exit = True
            return
        log.info("model %s ready in %.1f s", name, time.monotonic() - started)

    threading.Thread(target=load, name="model-loader", daemon=True).start()
    server.run()
    return exit_code


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

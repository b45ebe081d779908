"""Test helpers shared by the images' tests: a server started as a real process, as Vertex runs it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTAINERS = Path(__file__).resolve().parents[1]
#: Routes shaped like the ones Vertex sets.
HEALTH_ROUTE = "/v1/endpoints/1234/deployedModels/5678"
PREDICT_ROUTE = "/v1/endpoints/1234/deployedModels/5678:predict"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpClient:
    base_url: str

    def request(self, method: str, path: str, body: bytes | None = None) -> Response:
        request = urllib.request.Request(
            self.base_url + path, data=body, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return Response(answer.status, answer.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read())

    def health(self) -> Response:
        return self.request("GET", HEALTH_ROUTE)

    def predict(self, payload: Any) -> Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.request("POST", PREDICT_ROUTE, body)


@dataclass
class RunningServer(HttpClient):
    """A server process and where its output goes."""

    process: subprocess.Popen
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def package_env(package_dir: str) -> dict[str, str]:
    """This environment, with PYTHONPATH set for one image's package and the common one."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(CONTAINERS / "common"), str(CONTAINERS / package_dir)])}


def start_server(
    module: str, package_dir: str, storage_uri: Path, log: Path, extra_env: dict[str, str] | None = None
) -> RunningServer:
    port = free_port()
    env = {
        **package_env(package_dir),
        "AIP_HTTP_PORT": str(port),
        "AIP_HEALTH_ROUTE": HEALTH_ROUTE,
        "AIP_PREDICT_ROUTE": PREDICT_ROUTE,
        "AIP_STORAGE_URI": str(storage_uri),
        "SAPPHIRE_HOST": "127.0.0.1",
        **(extra_env or {}),
    }
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", module], env=env, stdout=sink, stderr=subprocess.STDOUT)
    return RunningServer(f"http://127.0.0.1:{port}", process, log)


def wait_until_ready(server: RunningServer, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if server.health().status == 200:
                return
        except (urllib.error.URLError, ConnectionError):
            pass  # not listening yet
        time.sleep(0.2)
    raise AssertionError(f"the server was not ready within {timeout} s:\n{server.log_tail()}")


def stop(server: RunningServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()

"""An `mlflow server` on 127.0.0.1 for tests: started in its own folder, stopped with its process group."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """An `mlflow server` bound to 127.0.0.1: SQLite backend, artifacts proxied into `artifacts`."""

    def __init__(self, home: Path, backend_store: Path | None = None, port: int | None = None):
        """A fresh store in `home`, or the UI over an existing SQLite `backend_store` (its runs'
        artifacts where they were logged); on `port`, or a free one."""
        self.artifacts = home / "artifacts"
        self.uri = f"http://127.0.0.1:{port or free_port()}"
        self.log = home / "server.log"
        self.command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
                        "--port", self.uri.rsplit(":", 1)[1], "--workers", "1",
                        "--backend-store-uri", f"sqlite:///{backend_store or home / 'server.db'}",
                        "--serve-artifacts", "--artifacts-destination", self.artifacts.as_uri()]
        # Without the job runner (a pool of huey consumers for MLflow's GenAI jobs): it
        # quadruples the start-up time and the pipeline never uses it.
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        with open(self.log, "wb") as output:
            # cwd: the server's own folder, so that nothing it defaults to (./mlartifacts) lands elsewhere.
            self.process = subprocess.Popen(self.command, cwd=home, env=env, stdout=output,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.deadline = time.monotonic() + STARTUP_SECONDS

    def wait_until_up(self) -> None:
        """Return once /health answers; fail with the server's output if it exits or the deadline passes."""
        while True:
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > self.deadline:
                state = (f"exited with status {self.process.returncode}" if self.process.poll() is not None
                         else f"did not answer {self.uri}/health within {STARTUP_SECONDS} s")
                pytest.fail(f"mlflow server {state}: {' '.join(self.command)}\n{self.log.read_text()[-5000:]}")
            time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM to the server's process group (it starts a uvicorn process), SIGKILL if it lingers."""
        for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(grace)
                return
            except subprocess.TimeoutExpired:
                continue

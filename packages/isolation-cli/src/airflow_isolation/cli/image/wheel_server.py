"""A throwaway HTTP server that hands wheels to ``RUN`` steps of an image build.

Served instead of copied so no wheel lands in an image layer. It binds 127.0.0.1 only (builds run
with the host's network, so the build containers reach it and nothing else can) and prefers one
fixed port: the URL is part of the ``RUN`` text Docker caches on, so a stable port keeps the layer
cache valid across builds. Concurrent builds on one machine therefore queue for that port (a
machine-wide lock) instead of taking the next one and missing the cache; only a port held by
another program makes a build fall back to the next few. The served folder is assembled per build from links:

    wheels/     -> the shared wheelhouse
    runtime/    this build's core and runtime wheels
    installer/  uv (same architecture) or a pip wheel
"""

from __future__ import annotations

import errno
import functools
import http.server
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image.build_context import RUNTIME_FOLDER, WHEELS_FOLDER
from airflow_isolation.cli.image.installer_choice import Installer
from airflow_isolation.workspace.flock import held_flock

PREFERRED_PORT = 47617
PORT_ATTEMPTS = 8
SERVER_HOST = "127.0.0.1"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Directory listings are what uv's and pip's ``--find-links`` parse; requests are not logged."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def assemble(served: Path, wheelhouse: Path, runtime_dir: Path, installer: Installer) -> Path:
    """The served folder, made of links (nothing is copied)."""
    served.mkdir(parents=True, exist_ok=True)
    os.symlink(wheelhouse, served / WHEELS_FOLDER)
    os.symlink(runtime_dir, served / RUNTIME_FOLDER)
    (served / "installer").mkdir()
    os.symlink(installer.path, served / "installer" / installer.served_name)
    return served


def server_url(port: int) -> str:
    return f"http://{SERVER_HOST}:{port}"


@contextmanager
def serve(folder: Path, preferred_port: int = PREFERRED_PORT) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (the preferred port, else one of the next few); yields the URL."""
    with _port_lock(preferred_port), _serving(folder, preferred_port) as url:
        yield url


@contextmanager
def _port_lock(port: int) -> Iterator[None]:
    """Held for the whole build: released by the kernel if the process dies."""
    with held_flock(Path(tempfile.gettempdir()) / f"airflow-isolation-wheel-server-{port}.lock", 0o666):
        yield


@contextmanager
def _serving(folder: Path, preferred_port: int) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = None
    for port in range(preferred_port, preferred_port + PORT_ATTEMPTS):
        try:
            server = http.server.ThreadingHTTPServer((SERVER_HOST, port), handler)
            break
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    if server is None:
        raise CliError(
            f"ports {preferred_port}-{preferred_port + PORT_ATTEMPTS - 1} on {SERVER_HOST} are all taken; "
            "the image build serves its wheels there",
            "free one of those ports (another isolationctl build may be running) and try again",
        )
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="isolation-wheel-server", daemon=True)
    thread.start()
    try:
        yield server_url(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

"""What the trust probes (``dags/trust_probe.py``) are run with: a worker environment holding a
secret in a plain variable and in a connection, a decoy run folder of another task holding it, a
file in the worker's home, and a loopback listener a task with its network cut must not reach.
Shared by ``test_trust_venv.py`` and ``test_trust_containers.py``."""

from __future__ import annotations

import secrets
import socket
import threading
from pathlib import Path
from typing import Dict, Iterator

import pytest
from harness import BUILD_PATH, host_env


@pytest.fixture(scope="module")
def listener() -> Iterator[int]:
    """A loopback port that accepts: the probe of a task with ``network="none"`` must not reach it."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    server.close()


@pytest.fixture(scope="module")
def probe_env(listener: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, str]]:
    """The worker's environment with a secret in a plain variable and in a connection, a decoy run
    folder of another task holding it, and a file in the worker's home."""
    secret = f"trust-{secrets.token_hex(8)}"
    decoy = Path(tmp_path_factory.getbasetemp()).parent / f"airflow-isolation-1-1-{secrets.token_hex(4)}"
    decoy.mkdir(mode=0o700)
    (decoy / "request.msgpack").write_text(secret)
    home_file = Path.home() / f".isolation-trust-probe-{secrets.token_hex(4)}"
    home_file.write_text(secret)
    env = host_env(
        extra={
            "TRUST_PROBE_SECRET": secret,
            "AIRFLOW_CONN_TRUST_PROBE": f"postgres://etl:{secret}@db.internal:5432/x",
            "TRUST_PROBE_OTHER_REQUEST": str(decoy / "request.msgpack"),
            "TRUST_PROBE_OTHER_BUILD": str(BUILD_PATH / "venvs" / "af31" / "current.json"),
            "TRUST_PROBE_HOME_FILE": str(home_file),
            "TRUST_PROBE_PORT": str(listener),
        }
    )
    yield env
    home_file.unlink(missing_ok=True)
    (decoy / "request.msgpack").unlink(missing_ok=True)
    decoy.rmdir()

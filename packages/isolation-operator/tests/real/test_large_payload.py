"""A 50 MiB argument reaches the task whole, on the venv and Docker backends, without waste.

The transport contract allows requests up to 64 MiB. The task gets 50 MiB of random bytes as an
``op_kwargs`` value and answers with their digest and length, and with the peak memory of its
process; the worker's own peak is measured around ``execute``. Each side may hold the request a
small number of times (the worker: the encoded request; the target: the file's bytes while they
are decoded), never a copy per step of the way. The Kubernetes request path is covered in
``backends/kubernetes/test_backend.py``.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any, Dict

import pytest
from operator_docker_support import (
    containers_of,
    payload_digest,
    run_like_task_runner,
    task_context,
)

from airflow_isolation.operator.operator import IsolatedOperator

MIB = 1024 * 1024
PAYLOAD_BYTES = 50 * MIB
VENV_ENVIRONMENT = "venvtest"  # built by the venv_environments fixture (conftest.py)


def _status_bytes(key: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith(f"{key}:"))


class PeakMemory:
    """The growth of this process's peak RSS over a block (Linux resets the peak on request)."""

    def __enter__(self) -> PeakMemory:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        self.start = _status_bytes("VmRSS")
        return self

    def __exit__(self, *exc: object) -> None:
        self.growth = _status_bytes("VmHWM") - self.start


@pytest.fixture(scope="module")
def payload() -> bytes:
    return os.urandom(PAYLOAD_BYTES)


def _run(payload: bytes, dag_id: str, **kwargs: Any) -> tuple[Dict[str, Any], int]:
    op = IsolatedOperator(
        task_id="big", python_callable=payload_digest, op_kwargs={"blob": payload}, **kwargs
    )
    context = task_context(dag_id, "big")
    with PeakMemory() as host:
        answer = run_like_task_runner(op, context)
    return answer, host.growth


def _check(answer: Dict[str, Any], host_growth: int, payload: bytes, backend: str) -> None:
    print(
        f"\n{backend}: 50 MiB argument, worker peak +{host_growth / MIB:.0f} MiB, "
        f"target peak {answer['peak_rss'] / MIB:.0f} MiB"
    )
    assert answer["length"] == len(payload)
    assert answer["sha256"] == hashlib.sha256(payload).hexdigest()
    # The worker holds the encoded request once (it is written or streamed from that one buffer).
    assert host_growth < 1.5 * PAYLOAD_BYTES, f"the worker grew by {host_growth / MIB:.0f} MiB"
    # The target holds the request file's bytes and the decoded value, briefly both.
    peak = answer["peak_rss"]
    assert peak < 2 * PAYLOAD_BYTES + 40 * MIB, f"the target peaked at {peak / MIB:.0f} MiB"


def test_50_mib_argument_on_the_venv_backend(payload: bytes, venv_env: Path) -> None:
    tmp = venv_env
    before = set(tmp.glob("airflow-isolation-*"))
    answer, host_growth = _run(payload, "bigvenv", environment=VENV_ENVIRONMENT, backend="venv")
    _check(answer, host_growth, payload, "venv")
    assert set(tmp.glob("airflow-isolation-*")) == before, "the request folder was left behind"


@pytest.mark.usefixtures("docker_env")
def test_50_mib_argument_on_the_docker_backend(payload: bytes, docker_client: Any) -> None:
    dag_id = f"bigdocker_{uuid.uuid4().hex[:10]}"
    answer, host_growth = _run(payload, dag_id, environment="dockertest", backend="docker")
    _check(answer, host_growth, payload, "docker")
    assert containers_of(docker_client, dag_id) == [], "the container was left behind"

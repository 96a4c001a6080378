"""Faults of the Docker backend against a real engine and runtime image (see conftest.py).

The container's process is killed with SIGKILL (by itself and with ``docker kill``), writes half a
result, and loses its worker to SIGKILL. Out of memory, crash before the result, ``on_kill`` and
``execution_timeout`` are in ``test_backend`` (next to this file). Every test checks what is left behind.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from pathlib import Path
from typing import Any, List

import docker.errors
import pytest
from host_worker import kill_worker, start_worker, worker_log
from operator_docker_support import (
    containers_of,
    kill_myself,
    run_like_task_runner,
    task_context,
    wait_for_running,
    write_half_a_result,
)

from airflow_isolation.operator import sweep_orphans
from airflow_isolation.operator.exchange.result_handler import IsolatedTargetCrashed
from airflow_isolation.operator.operator import IsolatedOperator

pytestmark = pytest.mark.usefixtures("docker_env")

KILLED = (
    "ended without writing a result: it was killed with SIGKILL (signal 9, exit code 137), not by the "
    "container's out-of-memory killer"
)


def nap(seconds: float) -> str:
    import time

    print("napping", flush=True)
    time.sleep(seconds)
    return "rested"


def _dag_id() -> str:
    return f"dockerfault_{uuid.uuid4().hex[:10]}"


def _operator(python_callable: Any, **kwargs: Any) -> IsolatedOperator:
    return IsolatedOperator(task_id="isolated", environment="dockertest", backend="docker",
                            python_callable=python_callable, **kwargs)  # fmt: skip


def _in_thread(op: IsolatedOperator, dag_id: str) -> tuple[threading.Thread, List[BaseException]]:
    errors: List[BaseException] = []

    def run() -> None:
        try:
            run_like_task_runner(op, task_context(dag_id, "isolated"))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def test_target_killing_itself_with_sigkill(docker_client: Any) -> None:
    dag_id = _dag_id()
    with pytest.raises(IsolatedTargetCrashed) as info:
        run_like_task_runner(_operator(kill_myself), task_context(dag_id, "isolated"))
    assert KILLED in str(info.value) and "about to be killed" in str(info.value)
    assert containers_of(docker_client, dag_id) == []


def test_container_killed_from_outside(docker_client: Any) -> None:
    dag_id = _dag_id()
    thread, errors = _in_thread(_operator(nap, op_args=[120]), dag_id)
    wait_for_running(docker_client, dag_id).kill()
    thread.join(60)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], IsolatedTargetCrashed), errors
    assert KILLED in str(errors[0]) and "`docker kill`" in str(errors[0])
    assert containers_of(docker_client, dag_id) == []


def test_truncated_result(docker_client: Any) -> None:
    dag_id = _dag_id()
    with pytest.raises(IsolatedTargetCrashed) as info:
        run_like_task_runner(_operator(write_half_a_result), task_context(dag_id, "isolated"))
    message = str(info.value)
    assert "left a truncated or corrupt result (" in message
    assert "bytes of msgpack: Input data was truncated); the target exited with code 0." in message
    assert "wrote " in message
    assert containers_of(docker_client, dag_id) == []


def test_worker_killed_mid_task_leaves_a_container_the_sweep_removes(
    docker_client: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Docker has no "die with the client" link: a worker killed outright leaves its container
    running. The next Docker run on the machine sweeps it first; a sweep leaves alone the container
    of a worker that is still running its task."""
    orphaned_dag, live_dag = _dag_id(), _dag_id()
    worker = start_worker(tmp_path, orphaned_dag, "docker", "dockertest")
    try:
        try:
            orphan = wait_for_running(docker_client, orphaned_dag, timeout=120)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{worker_log(tmp_path, orphaned_dag)}") from exc
    finally:
        kill_worker(worker)
    time.sleep(1)
    orphan.reload()
    assert orphan.status == "running", "the container should outlive its worker until a sweep"

    live_op = _operator(nap, op_args=[120])
    thread, errors = _in_thread(live_op, live_dag)
    try:
        live = wait_for_running(docker_client, live_dag)
        assert containers_of(docker_client, orphaned_dag) == [], "the next run did not sweep the orphan"
        assert (
            f"removed orphaned container {orphan.name} (its worker process {worker.pid}"
            in capfd.readouterr().out
        )
        assert live.name not in sweep_orphans()
        live.reload()
        assert live.status == "running", "the sweep touched the container of a live worker"
    finally:
        live_op.on_kill()
        thread.join(60)
        for container in containers_of(docker_client, orphaned_dag):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
    assert containers_of(docker_client, live_dag) == []
    assert len(errors) == 1 and "on_kill" in str(errors[0])

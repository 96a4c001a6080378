"""The Docker backend's standby containers against a real engine (``docker.standby``, ``runtime.standby``).

Each test has a build path of its own, hence a claim folder and a pool of its own (the pool key and
the ``standby-scope`` label name the claim folder), so tests never claim each other's containers; at
the end the test's waiting pooled containers are removed and nothing else of it may remain.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from docker_standby import remove_standby_containers
from host_worker import kill_worker, start_worker, worker_log
from operator_docker_support import (
    LABEL,
    TestEnvironments,
    boom,
    hog_memory,
    nap_then_note,
    run_like_task_runner,
    task_context,
)

from airflow_isolation.core.launch import REQUEST_DIGEST_ENV
from airflow_isolation.operator import sweep_orphans
from airflow_isolation.operator.backends.docker import standby
from airflow_isolation.operator.exchange.result_handler import IsolatedTargetCrashed, IsolatedTaskFailed
from airflow_isolation.operator.operator import IsolatedOperator

SCOPE = f"{LABEL}standby-scope"


# --- callables shipped to the container (source only: imports inside) -----------------------------


def where_am_i(day: str, ti: Any) -> Dict[str, Any]:
    import os
    import socket
    import sys

    print("first line from the pooled container")
    print("second line", file=sys.stderr)
    ti.xcom_push(key="extra", value={"n": 1})
    secret_in_env = [k for k in os.environ if k.startswith("AIRFLOW_CONN")]
    return {"day": day, "host": socket.gethostname(), "pid": os.getpid(), "conn_env": secret_in_env}


def hostname() -> str:
    import socket

    return socket.gethostname()


# --- fixtures and helpers --------------------------------------------------------------------------


@pytest.fixture
def pool_env(
    docker_env: TestEnvironments,
    runtime_image: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    docker_client: Any,
) -> Iterator[str]:
    """Warm starts on, with a build path (so a claim folder and a pool) of this test's own; yields
    the pool's scope label value."""
    envs = TestEnvironments(tmp_path / "environments", tmp_path / "builds")
    envs.add("dockertest", image=runtime_image)
    monkeypatch.setenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", str(envs.definitions))
    monkeypatch.setenv("AIRFLOW__ISOLATION__BUILD_PATH", str(envs.builds))
    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME", "True")
    scope = standby.scope(standby.claim_folder())
    yield scope
    assert remove_standby_containers(docker_client, envs.builds) == []


def _pooled(client: Any, scope: str) -> List[Dict[str, Any]]:
    return list(client.api.containers(all=True, filters={"label": [f"{SCOPE}={scope}"]}))


def _operator(python_callable: Any, **kwargs: Any) -> IsolatedOperator:
    op = IsolatedOperator(
        task_id="pooled",
        environment="dockertest",
        backend="docker",
        python_callable=python_callable,
        **kwargs,
    )
    op._test_dag_id = f"pooltest_{uuid.uuid4().hex[:10]}"
    return op


def _execute(op: IsolatedOperator) -> Any:
    return run_like_task_runner(op, task_context(op._test_dag_id, op.task_id))


def _prime(op_kwargs: Dict[str, Any] | None = None, **kwargs: Any) -> None:
    """One cold task, which leaves a pooled container for the next one."""
    assert _execute(_operator(hostname, **kwargs, **(op_kwargs or {})))


def _wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        time.sleep(0.2)


# --- tests -----------------------------------------------------------------------------------------


def test_a_task_runs_in_the_pooled_container_its_predecessor_left(
    pool_env: str, docker_client: Any, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _prime()
    first = "".join(capfd.readouterr())
    assert first.count("starting cold: no pooled container") == 1, first
    waiting = _pooled(docker_client, pool_env)
    assert len(waiting) == 1 and waiting[0]["State"] == "running", (waiting, first)
    inspected_waiting = docker_client.api.inspect_container(waiting[0]["Id"])
    config = inspected_waiting["Config"]
    assert not any(item.startswith(REQUEST_DIGEST_ENV) for item in config["Env"]), "a request reached it"
    host_config = inspected_waiting["HostConfig"]
    assert host_config["CapDrop"] == ["ALL"] and host_config["SecurityOpt"] == ["no-new-privileges"]

    password = f"s3cr3t-{uuid.uuid4().hex}"
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", f"postgres://loader:{password}@db.internal:5432/dw")
    op = _operator(where_am_i, op_kwargs={"day": "2024-01-02"}, connections=["warehouse"])
    context = task_context(op._test_dag_id, op.task_id)
    value = run_like_task_runner(op, context)
    output = "".join(capfd.readouterr())
    assert "started warm: pooled container" in output, output
    assert "starting cold" not in output, output
    assert "first line from the pooled container" in output and "second line" in output
    assert value["day"] == "2024-01-02" and value["conn_env"] == []
    assert value["host"] == waiting[0]["Id"][:12], "the task did not run in the pooled container"
    assert context["ti"].pushed["extra"] == {"n": 1}
    assert docker_client.api.containers(all=True, filters={"id": waiting[0]["Id"]}) == [], "not removed"
    replacement = _pooled(docker_client, pool_env)
    assert len(replacement) == 1 and replacement[0]["Id"] != waiting[0]["Id"]
    inspected = str(docker_client.api.inspect_container(replacement[0]["Id"]))
    assert password not in inspected


def test_a_pooled_task_fails_with_the_remote_traceback(
    pool_env: str, capfd: pytest.CaptureFixture[str]
) -> None:
    _prime()
    with pytest.raises(IsolatedTaskFailed, match="ValueError: kaboom 42"):
        _execute(_operator(boom))
    output = "".join(capfd.readouterr())
    assert "started warm: pooled container" in output
    assert 'raise ValueError("kaboom 42")' in output


def test_a_pooled_task_out_of_memory_names_the_limit(pool_env: str) -> None:
    _prime(backend_options={"mem_limit": "48m"})
    with pytest.raises(IsolatedTargetCrashed, match=r"out-of-memory killer \(memory limit 48m\)"):
        _execute(_operator(hog_memory, backend_options={"mem_limit": "48m"}))


def test_execution_timeout_stops_a_pooled_task_and_removes_its_container(
    pool_env: str, docker_client: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from airflow.sdk.exceptions import AirflowTaskTimeout

    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    options = {"mounts": [{"source": str(folder), "target": "/shared"}]}
    _prime(backend_options=options)
    waiting = _pooled(docker_client, pool_env)
    op = _operator(nap_then_note, op_args=["/shared", 120], execution_timeout=datetime.timedelta(seconds=4),
                   backend_options=options)  # fmt: skip
    started = time.monotonic()
    with pytest.raises(AirflowTaskTimeout):
        _execute(op)
    assert time.monotonic() - started < 30
    assert "started warm: pooled container" in "".join(capfd.readouterr())
    assert (folder / "finally").read_text() == "the task's finally ran"
    assert docker_client.api.containers(all=True, filters={"id": waiting[0]["Id"]}) == []


def test_on_kill_stops_a_pooled_task_and_removes_its_container(pool_env: str, docker_client: Any) -> None:
    _prime()
    waiting = _pooled(docker_client, pool_env)[0]["Id"]
    op = _operator(nap_then_note, op_args=["/tmp", 120])
    errors: List[BaseException] = []

    def run() -> None:
        try:
            _execute(op)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    claim = standby.claim_folder() / f"{waiting}.claim"
    _wait_until(claim.exists, 60, "the task did not claim the pooled container")
    _wait_until(
        lambda: b"napping" in docker_client.api.logs(waiting, stdout=True, stderr=False),
        60,
        "the pooled task did not start",
    )
    started = time.monotonic()
    op.on_kill()
    thread.join(30)
    assert not thread.is_alive(), "execute did not return after on_kill"
    assert time.monotonic() - started < 20
    assert len(errors) == 1 and isinstance(errors[0], IsolatedTargetCrashed), errors
    assert "on_kill" in str(errors[0])
    assert docker_client.api.containers(all=True, filters={"id": waiting}) == []
    assert not claim.exists()


def test_concurrent_tasks_never_share_a_pooled_container(
    pool_env: str, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(standby, "STANDBY_PER_KEY", 4)
    with monkeypatch.context() as priming:
        priming.setattr(standby, "claim", lambda *args: None)  # cold, each leaving one more pooled
        for _ in range(4):
            _prime()
    pooled = _pooled(docker_client, pool_env)
    assert len(pooled) == 4
    results: List[str] = []
    errors: List[BaseException] = []

    def run() -> None:
        try:
            results.append(_execute(_operator(hostname)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors
    assert len(results) == 10 and len(set(results)) == 10, f"a container ran two tasks: {results}"
    assert {item["Id"][:12] for item in pooled} <= set(results), "a waiting pooled container was not used"
    left = {item["Id"][:12] for item in _pooled(docker_client, pool_env)}
    assert not left & set(results), "a container that ran a task is still in the pool"


def test_an_idle_pooled_container_exits_and_is_removed(
    pool_env: str, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME_IDLE_SECONDS", "3")
    _prime()
    assert len(_pooled(docker_client, pool_env)) == 1
    _wait_until(lambda: not _pooled(docker_client, pool_env), 60, "the idle pooled container is still there")


@pytest.mark.parametrize("how", ["task", "worker"])
def test_warm_off_creates_no_pooled_container(
    how: str, pool_env: str, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if how == "worker":
        monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME", "False")
        _prime()
    else:
        _prime(backend_options={"warm": False})
    assert _pooled(docker_client, pool_env) == []


def test_a_task_with_other_container_options_starts_cold(
    pool_env: str, docker_client: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    _prime()
    default = _pooled(docker_client, pool_env)
    capfd.readouterr()
    value = _execute(_operator(hostname, backend_options={"env": {"MY_SETTING": "1"}}))
    assert "starting cold: no pooled container" in "".join(capfd.readouterr())
    assert value not in {item["Id"][:12] for item in default}
    still = {item["Id"]: item["State"] for item in _pooled(docker_client, pool_env)}
    assert still.get(default[0]["Id"]) == "running", "the other options' pooled container was used"
    assert len(still) == 2, "the task with other options started a pooled container of its own"


def test_the_sweep_keeps_a_waiting_pooled_container_and_removes_one_whose_claimer_is_gone(
    pool_env: str, docker_client: Any
) -> None:
    _prime()
    waiting = _pooled(docker_client, pool_env)[0]["Id"]
    sweep_orphans()
    assert [item["Id"] for item in _pooled(docker_client, pool_env)] == [waiting]

    gone = subprocess.Popen(["true"])
    gone.wait()
    record = standby.record_for(None)
    dead = standby.ClaimRecord(record.host, record.pid_namespace, gone.pid, "1")
    assert standby.take(standby.claim_folder(), waiting, dead)
    removed = sweep_orphans()
    assert any("standby" in name for name in removed), removed
    assert _pooled(docker_client, pool_env) == []
    assert not (standby.claim_folder() / f"{waiting}.claim").exists()
    assert os.listdir(standby.claim_folder()) == [
        f for f in os.listdir(standby.claim_folder()) if f.endswith(".lock")
    ]


def test_a_worker_killed_mid_task_takes_its_pooled_container_with_it(
    pool_env: str, docker_client: Any, tmp_path: Path
) -> None:
    """A cold container outlives a killed worker until a sweep; a pooled one notices at once: its
    stdin, the worker's attach connection, closes, and it kills the task and goes."""
    _prime()
    claimed = _pooled(docker_client, pool_env)[0]["Id"]
    dag_id = f"pooltest_{uuid.uuid4().hex[:10]}"
    worker = start_worker(tmp_path, dag_id, "docker", "dockertest")
    try:
        try:
            _wait_until(
                lambda: b"sleeping" in docker_client.api.logs(claimed, stdout=True, stderr=False),
                120,
                "the worker's task did not start in the pooled container",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{worker_log(tmp_path, dag_id)}") from exc
        running = lambda: [c for c in _pooled(docker_client, pool_env) if c["State"] == "running"]  # noqa: E731
        _wait_until(lambda: len(running()) == 2, 60, "the worker did not start a replacement")
    finally:
        kill_worker(worker)
    try:
        _wait_until(
            lambda: not docker_client.api.containers(all=True, filters={"id": claimed}),
            60,
            "the pooled container outlived its killed worker",
        )
    except AssertionError as exc:
        logs = docker_client.api.logs(claimed).decode(errors="replace")
        top = docker_client.api.top(claimed)
        raise AssertionError(f"{exc}\n{logs}\n{top}\n{worker_log(tmp_path, dag_id)}") from exc


def test_a_claimed_container_that_ended_before_its_task_leaves_the_task_to_a_cold_start(
    pool_env: str, docker_client: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Say it exited idle (or was stopped) just as it was claimed: the task never ran in it, so
    it starts cold, once, and says why."""
    _prime()
    gone = _pooled(docker_client, pool_env)[0]["Id"]
    docker_client.api.kill(gone, "SIGTERM")
    real_claim = standby.claim
    claims = iter([gone])
    monkeypatch.setattr(standby, "claim", lambda *args: next(claims, None) or real_claim(*args))
    capfd.readouterr()
    value = _execute(_operator(hostname))
    output = "".join(capfd.readouterr())
    assert f"starting cold: pooled container {gone[:12]} refused" in output, output
    assert "Started container" in output and value != gone[:12]
    assert not (standby.claim_folder() / f"{gone}.claim").exists()


def test_a_claimed_container_that_is_not_running_leaves_the_task_to_a_cold_start(
    pool_env: str, docker_client: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """The engine keeps an attach to a container that is not running open, waiting for a start
    that never comes: a claimed container that is not running (here one never started, as one
    caught between its exit and its removal is not) must not hold the task forever."""
    _prime()
    image = _pooled(docker_client, pool_env)[0]["Image"]
    stopped = docker_client.api.create_container(image, command=["true"])["Id"]
    real_claim = standby.claim
    claims = iter([stopped])
    monkeypatch.setattr(standby, "claim", lambda *args: next(claims, None) or real_claim(*args))
    capfd.readouterr()
    started = time.monotonic()
    try:
        value = _execute(_operator(hostname))
    finally:
        with contextlib.suppress(Exception):
            docker_client.api.remove_container(stopped, force=True)
    output = "".join(capfd.readouterr())
    assert f"starting cold: pooled container {stopped[:12]} refused" in output, output
    assert "ended before taking the task" in output, output
    assert "Started container" in output and value != stopped[:12]
    assert time.monotonic() - started < 120

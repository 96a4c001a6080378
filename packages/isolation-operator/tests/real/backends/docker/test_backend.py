"""The Docker backend against a real engine and a real runtime image (see conftest.py).

Tasks run through ``IsolatedOperator.execute`` the way Airflow's task runner calls it; callables run
in an image without Airflow. Every test checks that no container of its task is left behind.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
from operator_docker_support import (
    BASE_IMAGE,
    LABEL,
    TestEnvironments,
    boom,
    container_names,
    containers_of,
    hog_memory,
    nap_then_note,
    run_like_task_runner,
    skip_me,
    task_context,
    wait_for_running,
)
from real_components import require_registry

from airflow_isolation.core.launch import IMAGE_REQUEST_FILE
from airflow_isolation.operator import sweep_orphans
from airflow_isolation.operator.airflow_compat import AirflowSkipException
from airflow_isolation.operator.backends.docker.client import DockerBackendError
from airflow_isolation.operator.backends.docker.labels import owner_labels
from airflow_isolation.operator.backends.ownership import Owner
from airflow_isolation.operator.exchange.result_handler import IsolatedTargetCrashed, IsolatedTaskFailed
from airflow_isolation.operator.operator import IsolatedOperator

pytestmark = pytest.mark.usefixtures("docker_env")


# --- callables shipped to the container (source only: imports inside) -----------------------------


def report(day: str) -> Dict[str, Any]:
    import os
    import sys

    print("first line from the container")
    print("second line", file=sys.stderr)
    return {"day": day, "python": sys.version_info[:2], "home": os.environ["AIRFLOW_HOME"]}


def crash() -> None:
    import os
    import sys

    print("about to crash", flush=True)
    sys.stderr.flush()
    os._exit(3)


def nap(seconds: float) -> str:
    import time

    print("napping", flush=True)
    time.sleep(seconds)
    return "rested"


def whoami() -> tuple:
    import os

    return os.getuid(), os.getgid()


def privileges(linger: float = 0) -> Dict[str, Any]:
    """What the task's process may do: its capability sets, ``NoNewPrivs``, where it may write."""
    import os
    import time

    with open("/proc/self/status") as handle:
        status = dict(line.split(":\t", 1) for line in handle.read().splitlines() if ":\t" in line)

    def writable(path: str) -> bool:
        try:
            with open(path, "w") as handle:
                handle.write("x")
        except OSError:
            return False
        os.unlink(path)
        return True

    found = {
        "uid": os.getuid(),
        "effective": int(status["CapEff"], 16),
        "bounding": int(status["CapBnd"], 16),
        "no_new_privs": status["NoNewPrivs"].strip(),
        "root": writable("/hardening-probe"),
        "tmp": writable("/tmp/hardening-probe"),
        "airflow_home": writable(os.environ["AIRFLOW_HOME"] + "/hardening-probe"),
        "docker_socket": os.path.exists("/var/run/docker.sock"),
    }
    time.sleep(linger)
    return found


# --- helpers ---------------------------------------------------------------------------------------


def _dag_id() -> str:
    return f"dockertest_{uuid.uuid4().hex[:10]}"


def _operator(dag_id: str, python_callable: Any, **kwargs: Any) -> IsolatedOperator:
    kwargs.setdefault("environment", "dockertest")
    op = IsolatedOperator(task_id="isolated", backend="docker", python_callable=python_callable, **kwargs)
    op._test_dag_id = dag_id
    return op


def _execute(op: IsolatedOperator, **ti: Any) -> Any:
    return run_like_task_runner(op, task_context(op._test_dag_id, op.task_id, **ti))


def _in_thread(op: IsolatedOperator) -> tuple[threading.Thread, List[BaseException], List[Any]]:
    errors: List[BaseException] = []
    results: List[Any] = []

    def target() -> None:
        try:
            results.append(_execute(op))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors, results


def _assert_cleaned_up(docker_client: Any, dag_id: str) -> None:
    assert containers_of(docker_client, dag_id) == [], "a container of the task was left behind"


# --- tests -----------------------------------------------------------------------------------------


def test_callable_returns_value_and_streams_logs(
    docker_client: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    dag_id = _dag_id()
    op = _operator(dag_id, report, op_kwargs={"day": "{{ ds }}"}, backend_options={"mem_limit": "256m"})
    op.op_kwargs = {"day": "2024-01-02"}  # rendered, as Airflow would before execute
    assert _execute(op) == {"day": "2024-01-02", "python": (3, 11), "home": "/opt/isolation/airflow-home"}
    output = "".join(capfd.readouterr())
    assert "first line from the container" in output
    assert "second line" in output
    _assert_cleaned_up(docker_client, dag_id)


def test_failure_keeps_the_remote_traceback(docker_client: Any, capfd: pytest.CaptureFixture[str]) -> None:
    dag_id = _dag_id()
    with pytest.raises(IsolatedTaskFailed, match="ValueError: kaboom 42"):
        _execute(_operator(dag_id, boom))
    output = "".join(capfd.readouterr())
    assert 'raise ValueError("kaboom 42")' in output, "the remote traceback is not in the task log"
    _assert_cleaned_up(docker_client, dag_id)


def test_skip(docker_client: Any) -> None:
    dag_id = _dag_id()
    with pytest.raises(AirflowSkipException, match="nothing to do today"):
        _execute(_operator(dag_id, skip_me))
    _assert_cleaned_up(docker_client, dag_id)


def test_out_of_memory_names_the_limit(docker_client: Any) -> None:
    dag_id = _dag_id()
    op = _operator(dag_id, hog_memory, backend_options={"mem_limit": "32m"})
    with pytest.raises(IsolatedTargetCrashed, match=r"out-of-memory killer \(memory limit 32m\)") as info:
        _execute(op)
    assert "raise mem_limit in backend_options" in str(info.value)
    _assert_cleaned_up(docker_client, dag_id)


def test_crash_before_the_result(docker_client: Any) -> None:
    dag_id = _dag_id()
    with pytest.raises(IsolatedTargetCrashed, match="exited with code 3") as info:
        _execute(_operator(dag_id, crash))
    assert "about to crash" in str(info.value)
    _assert_cleaned_up(docker_client, dag_id)


def test_on_kill_removes_the_container(docker_client: Any) -> None:
    dag_id = _dag_id()
    op = _operator(dag_id, nap, op_args=[120])
    thread, errors, _ = _in_thread(op)
    wait_for_running(docker_client, dag_id)
    started = time.monotonic()
    op.on_kill()
    thread.join(30)
    assert not thread.is_alive(), "execute did not return after on_kill"
    assert time.monotonic() - started < 20
    assert len(errors) == 1 and isinstance(errors[0], IsolatedTargetCrashed), errors
    assert "on_kill" in str(errors[0])
    _assert_cleaned_up(docker_client, dag_id)


def test_execution_timeout_removes_the_container(docker_client: Any) -> None:
    from airflow.sdk.exceptions import AirflowTaskTimeout

    dag_id = _dag_id()
    op = _operator(dag_id, nap, op_args=[120], execution_timeout=datetime.timedelta(seconds=4))
    started = time.monotonic()
    with pytest.raises(AirflowTaskTimeout):
        _execute(op)
    assert time.monotonic() - started < 30
    _assert_cleaned_up(docker_client, dag_id)


def test_execution_timeout_stops_the_task_before_removing_the_container(
    docker_client: Any, tmp_path: Path
) -> None:
    """The container is stopped (SIGTERM) before it is removed, so the task ends as Airflow's task
    runner would end it: its ``finally`` runs, an operator's ``on_kill`` too (see the runtime's
    test_termination)."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)  # the image's user is not this test's
    dag_id = _dag_id()
    op = _operator(dag_id, nap_then_note, op_args=["/shared", 120],
                   execution_timeout=datetime.timedelta(seconds=4),
                   backend_options={"mounts": [{"source": str(folder), "target": "/shared"}]})  # fmt: skip
    with pytest.raises(AirflowTaskTimeout):
        _execute(op)
    assert (folder / "finally").read_text() == "the task's finally ran"
    _assert_cleaned_up(docker_client, dag_id)


def test_secrets_stay_out_of_the_container_config(
    docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = f"s3cr3t-{uuid.uuid4().hex}"
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", f"postgres://loader:{password}@db.internal:5432/dw")
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", f"fernet-{password}")
    dag_id = _dag_id()
    op = _operator(
        dag_id,
        nap,
        op_args=[3],
        connections=["warehouse"],
        backend_options={"user": "1000:1000", "env": {"MODE": "test"}},
    )
    thread, errors, results = _in_thread(op)
    container = wait_for_running(docker_client, dag_id)
    attrs = docker_client.api.inspect_container(container.id)
    for part in (
        attrs["Config"]["Env"],
        attrs["Config"]["Cmd"],
        attrs["Config"]["Labels"],
        attrs["HostConfig"],
    ):
        assert password not in json.dumps(part)
    assert password not in json.dumps(attrs)
    env = dict(item.split("=", 1) for item in attrs["Config"]["Env"])
    assert not [key for key in env if key.startswith("AIRFLOW_") and key != "AIRFLOW_HOME"], env
    assert env["MODE"] == "test"
    stat = container.exec_run(["stat", "-c", "%a %u:%g", IMAGE_REQUEST_FILE], user="0")
    assert stat.output.decode().strip() == "600 1000:1000"
    shipped = container.exec_run(["cat", IMAGE_REQUEST_FILE], user="1000:1000").output
    assert password.encode() in shipped, "the connection should travel inside the request file"
    # with every capability dropped, not even root in the container reads another user's request
    as_root = container.exec_run(["cat", IMAGE_REQUEST_FILE], user="0")
    assert as_root.exit_code != 0 and b"Permission denied" in as_root.output, as_root
    thread.join(60)
    assert not errors, errors
    assert results == ["rested"]
    _assert_cleaned_up(docker_client, dag_id)


def test_named_user_owns_its_request(docker_client: Any) -> None:
    dag_id = _dag_id()
    op = _operator(dag_id, whoami, backend_options={"user": "nobody"})
    assert _execute(op) == (65534, 65534)  # Debian's nobody:nogroup, looked up in the image
    _assert_cleaned_up(docker_client, dag_id)


CAP_NET_BIND_SERVICE = 1 << 10


def test_the_container_is_hardened_by_default(docker_client: Any) -> None:
    """Every capability dropped and no-new-privileges, read back from the engine and seen from the
    task's own process, which still gets its request (root without CAP_DAC_OVERRIDE reads its own
    0600 file) and writes its result."""
    dag_id = _dag_id()
    op = _operator(dag_id, privileges, op_args=[3])
    thread, errors, results = _in_thread(op)
    container = wait_for_running(docker_client, dag_id)
    host_config = docker_client.api.inspect_container(container.id)["HostConfig"]
    thread.join(60)
    assert not errors, errors
    assert host_config["CapDrop"] == ["ALL"] and not host_config["CapAdd"]
    assert host_config["SecurityOpt"] == ["no-new-privileges"]
    assert host_config["Privileged"] is False and host_config["ReadonlyRootfs"] is False
    assert not [b for b in host_config.get("Binds") or [] if "docker.sock" in b]
    [found] = results
    assert found["uid"] == 0 and found["effective"] == 0 and found["bounding"] == 0, found
    assert found["no_new_privs"] == "1" and found["docker_socket"] is False, found
    assert found["root"] and found["tmp"], "root owns the image's files: it writes without capabilities"
    _assert_cleaned_up(docker_client, dag_id)


def test_cap_add_gives_back_only_what_it_names(docker_client: Any) -> None:
    dag_id = _dag_id()
    found = _execute(_operator(dag_id, privileges, backend_options={"cap_add": ["NET_BIND_SERVICE"]}))
    assert found["effective"] == found["bounding"] == CAP_NET_BIND_SERVICE, found
    assert found["no_new_privs"] == "1", found
    _assert_cleaned_up(docker_client, dag_id)


def test_a_non_root_user_runs_hardened(docker_client: Any) -> None:
    dag_id = _dag_id()
    found = _execute(_operator(dag_id, privileges, backend_options={"user": "65534:65534"}))
    assert found["uid"] == 65534 and found["effective"] == found["bounding"] == 0, found
    _assert_cleaned_up(docker_client, dag_id)


def test_read_only_root_filesystem(docker_client: Any) -> None:
    """The root filesystem refuses writes; the request still goes in (a volume at /isolation),
    shipped modules and Airflow's config still have somewhere to go, and nothing stays behind:
    not the container, not its anonymous volume."""
    volumes_before = {v["Name"] for v in docker_client.api.volumes()["Volumes"] or []}
    dag_id = _dag_id()
    op = _operator(dag_id, privileges, op_args=[3], backend_options={"read_only": True})
    thread, errors, results = _in_thread(op)
    try:
        container = wait_for_running(docker_client, dag_id)
    except AssertionError:
        thread.join(60)
        raise AssertionError(f"the task did not run: {errors}") from None
    attrs = docker_client.api.inspect_container(container.id)
    thread.join(60)
    assert not errors, errors
    assert attrs["HostConfig"]["ReadonlyRootfs"] is True
    assert set(attrs["HostConfig"]["Tmpfs"]) == {"/tmp", "/opt/isolation/airflow-home"}
    assert [m["Destination"] for m in attrs["Mounts"] if m["Type"] == "volume"] == ["/isolation"]
    [found] = results
    assert found["root"] is False and found["tmp"] and found["airflow_home"], found
    _assert_cleaned_up(docker_client, dag_id)
    volumes_after = {v["Name"] for v in docker_client.api.volumes()["Volumes"] or []}
    assert volumes_after <= volumes_before, "the anonymous /isolation volume was left behind"


def test_privileged_is_loud(docker_client: Any, capfd: pytest.CaptureFixture[str], caplog: Any) -> None:
    """The explicit opt-out is said in the task log of every run. Whether the engine can then give
    the container every capability is the engine's business (an engine that itself runs without
    them, as in some CI containers, refuses to start it: "unable to apply caps")."""
    dag_id = _dag_id()
    found: Dict[str, Any] = {}
    refused = ""
    try:
        found = _execute(_operator(dag_id, privileges, backend_options={"privileged": True}))
    except DockerBackendError as exc:
        refused = str(exc)
    if refused:
        assert "unable to apply caps" in refused, refused
    else:
        assert found["effective"] != 0, "privileged is the explicit opt-out of the hardening"
    output = "".join(capfd.readouterr()) + caplog.text
    assert "WARNING: backend_options privileged=True: the container gets every capability" in output, output
    _assert_cleaned_up(docker_client, dag_id)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _plant(docker_client: Any, image: str, labels: Dict[str, str]) -> Any:
    base = {f"{LABEL}managed": "true", f"{LABEL}environment": "dockertest"}
    return docker_client.containers.run(
        image,
        ["sleep", "300"],
        detach=True,
        labels={**base, **labels},
        name=f"planted-{uuid.uuid4().hex[:8]}",
    )


def _names_once_settled(client: Any, leaving: str, seconds: float = 20) -> set[str]:
    deadline = time.monotonic() + seconds
    while True:
        names = container_names(client)
        if leaving not in names or time.monotonic() > deadline:
            return names
        time.sleep(0.5)


def test_sweep_removes_orphans(docker_client: Any, runtime_image: str) -> None:
    owner = Owner.current()
    dead = {**owner_labels(owner), f"{LABEL}owner-pid": str(_dead_pid())}
    alive = owner_labels(owner)
    elsewhere = {**alive, f"{LABEL}host": "another-worker"}
    dag_id = _dag_id()
    identity = {
        f"{LABEL}dag-id": dag_id,
        f"{LABEL}task-id": "isolated",
        f"{LABEL}run-id": "manual__2024-01-02T00:00:00+00:00",
        f"{LABEL}map-index": "-1",
        f"{LABEL}try-number": "1",
    }
    orphan = _plant(docker_client, runtime_image, {**dead, f"{LABEL}dag-id": "other"})
    live = _plant(docker_client, runtime_image, {**alive, f"{LABEL}dag-id": "other"})
    earlier_try = _plant(docker_client, runtime_image, {**elsewhere, **identity})
    try:
        removed = sweep_orphans()
        assert live.name not in removed and earlier_try.name not in removed
        # judged by the end state: a concurrent sweep (another worker, another test session on this
        # engine) may be the one whose removal of the orphan is in progress
        names = _names_once_settled(docker_client, orphan.name)
        assert orphan.name not in names and live.name in names and earlier_try.name in names

        # the next try of the task instance removes what an earlier try left on another worker
        assert _execute(_operator(dag_id, nap, op_args=[0]), try_number=2) == "rested"
        assert earlier_try.name not in container_names(docker_client)
    finally:
        for container in (orphan, live, earlier_try):
            with contextlib.suppress(Exception):
                container.remove(force=True)


def test_pulls_the_pushed_image_when_missing_locally(
    docker_client: Any, runtime_image: str, docker_env: TestEnvironments, capfd: pytest.CaptureFixture[str]
) -> None:
    registry = require_registry()
    tag = runtime_image.rsplit(":", 1)[1]
    pushed = f"{registry}/airflow-isolation-test/pulled:{tag}"
    local = f"airflow-isolation/pulled:{tag}"  # never built on this "worker"
    docker_client.images.get(runtime_image).tag(pushed)
    for event in docker_client.api.push(pushed, stream=True, decode=True):
        assert "error" not in event, event
    docker_client.images.remove(pushed)  # untag: the worker does not have it
    docker_env.add("pulled", image=local, pushed=[pushed])
    dag_id = _dag_id()
    try:
        assert _execute(_operator(dag_id, nap, op_args=[0], environment="pulled")) == "rested"
        assert f"Pulling image {pushed}" in "".join(capfd.readouterr())
        assert docker_client.images.get(pushed).id == docker_client.images.get(runtime_image).id
        assert _execute(_operator(dag_id, nap, op_args=[0], environment="pulled")) == "rested"
        assert "Pulling image" not in "".join(capfd.readouterr()), "the pulled image was not reused"
    finally:
        with contextlib.suppress(Exception):
            docker_client.images.remove(pushed)
    _assert_cleaned_up(docker_client, dag_id)


def test_missing_image_names_the_build_command(docker_env: TestEnvironments) -> None:
    docker_env.add("unbuilt", image="airflow-isolation/unbuilt:0000", pushed=[])
    op = _operator(_dag_id(), nap, op_args=[0], environment="unbuilt")
    with pytest.raises(DockerBackendError, match=r"isolationctl env build unbuilt --target image"):
        _execute(op)
    op = _operator(_dag_id(), nap, op_args=[0], environment="unbuilt", backend_options={"pull": "never"})
    with pytest.raises(DockerBackendError, match="pull='never'"):
        _execute(op)


def test_unreachable_engine_names_the_fix() -> None:
    op = _operator(_dag_id(), nap, op_args=[0], backend_options={"docker_url": "tcp://127.0.0.1:9"})
    with pytest.raises(DockerBackendError, match=r"cannot reach the Docker engine.*docker_url"):
        _execute(op)


def test_image_without_runtime_names_the_fix(docker_client: Any) -> None:
    dag_id = _dag_id()
    op = _operator(dag_id, nap, op_args=[0], backend_options={"image": BASE_IMAGE, "pull": "never"})
    with pytest.raises(
        IsolatedTargetCrashed, match=r"has no airflow-isolation runtime.*isolationctl env build"
    ):
        _execute(op)
    _assert_cleaned_up(docker_client, dag_id)


def test_explicit_image_needs_no_environment_definition(docker_client: Any, runtime_image: str) -> None:
    dag_id = _dag_id()
    op = _operator(dag_id, nap, op_args=[0], environment="adhoc", backend_options={"image": runtime_image})
    assert _execute(op) == "rested"
    _assert_cleaned_up(docker_client, dag_id)


def test_sweep_survives_a_container_removed_while_it_lists(docker_client: Any, runtime_image: str) -> None:
    """Another task's container may go between the engine's list and the SDK's inspect of it: the
    sweep skips it instead of failing (it did, with ``docker.errors.NotFound``)."""
    owner = Owner.current()
    vanishing = _plant(docker_client, runtime_image, {**owner_labels(owner), f"{LABEL}dag-id": "other"})
    orphan = _plant(
        docker_client, runtime_image, {**owner_labels(owner), f"{LABEL}owner-pid": str(_dead_pid())}
    )
    inspect = docker_client.api.inspect_container

    def removed_first(container: str) -> Any:
        if container in (vanishing.id, vanishing.name):
            vanishing.remove(force=True)
        return inspect(container)

    docker_client.api.inspect_container = removed_first
    try:
        removed = sweep_orphans(docker_client)
        assert orphan.name in removed and vanishing.name not in removed
    finally:
        docker_client.api.inspect_container = inspect
        for container in (vanishing, orphan):
            with contextlib.suppress(Exception):
                container.remove(force=True)

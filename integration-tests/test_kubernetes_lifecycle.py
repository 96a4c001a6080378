"""The life of a Kubernetes-backend run on a real cluster, end to end: deferral and resume, the
pod's ending per ``on_finish_action``, timeouts and ``on_kill``, reattaching after the worker died,
how a container that died without a result is reported, a large request, and the sweep of request
Secrets a dead worker left. After every run the API server is asked what is left: no request Secret
(it holds the task's connections) and no pod, unless the finish action keeps it.

Skips without ``KUBECONFIG``, fails under ``ISOLATION_REQUIRE_KUBERNETES=1`` (``kubernetes_cluster``).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
from harness import host_env, return_value, run_dag
from kubernetes_cluster import (
    ENVIRONMENT,
    NAMESPACE,
    REQUEST_SECRETS,
    assert_nothing_left,
    delete_pods_of,
    new_dag_id,
    pods_of,
    request_secrets,
    run_task,
    settings,
    wait_for,
)

HERE = Path(__file__).resolve().parent


def add(a: int, b: int) -> int:
    return a + b


def boom() -> None:
    raise ValueError("kaboom in a kept pod")


def sleepy() -> None:
    import time

    print("sleeping in the pod", flush=True)
    time.sleep(600)


def hog() -> int:
    block = b"x" * (256 * 1024 * 1024)  # written, so every page is really used
    return len(block)


def kill_myself() -> None:
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def vanish() -> None:
    import os

    os._exit(3)


def measure(payload: str) -> int:
    return len(payload)


def running(api: Any, dag_id: str) -> bool:
    return any(
        pod.status.phase == "Running" and not pod.metadata.deletion_timestamp for pod in pods_of(api, dag_id)
    )


# -- 1. deferrable, through `airflow dags test` (which runs the trigger in-process) -----------------

_DEFERRABLE_DAG = """
import datetime as dt

from airflow.sdk import DAG

from airflow_isolation.operator.operator import IsolatedOperator


def greet(name):
    print(f"hello {name} from a deferred pod", flush=True)
    return {"greeting": f"hi {name}"}


def fail_after_deferral():
    print("about to fail in a deferred pod", flush=True)
    raise ValueError("kaboom after deferral")


def outlive_the_deadline():
    import time

    print("sleeping past the deadline in a deferred pod", flush=True)
    time.sleep(600)


with DAG("DAG_ID", schedule=None, start_date=dt.datetime(2024, 1, 1)):
    IsolatedOperator(task_id="greets", environment="ENVIRONMENT", backend="kubernetes",
                     python_callable=greet, op_args=["pod"], backend_options={"deferrable": True})
    IsolatedOperator(task_id="fails", environment="ENVIRONMENT", backend="kubernetes",
                     python_callable=fail_after_deferral, backend_options={"deferrable": True})
    IsolatedOperator(task_id="times_out", environment="ENVIRONMENT", backend="kubernetes",
                     python_callable=outlive_the_deadline, backend_options={"deferrable": True},
                     execution_timeout=dt.timedelta(seconds=30))
"""


def test_deferrable_runs_resume_log_return_and_clean_up(
    kubernetes: Any, kubernetes_images: str, airflow_db: None, tmp_path: Path
) -> None:
    dag_id = new_dag_id()
    dag_file = tmp_path / f"{dag_id}.py"
    dag_file.write_text(_DEFERRABLE_DAG.replace("DAG_ID", dag_id).replace("ENVIRONMENT", ENVIRONMENT))
    before = request_secrets(kubernetes)

    env = host_env(extra={**settings(kubernetes_images), "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path)})
    report = run_dag(dag_id, env, dag_file=dag_file)

    assert report.state("greets") == "success", report.output[-6000:]
    assert report.state("fails") == "failed", report.output[-6000:]
    assert report.state("times_out") == "failed", report.output[-6000:]
    assert report.output.count("[DAG TEST] Trigger completed") == 3, "a task did not defer"
    assert "hello pod from a deferred pod" in report.output
    assert "kaboom after deferral" in report.output  # the remote traceback
    assert "sleeping past the deadline in a deferred pod" in report.output
    assert "timed out (execution_timeout) while its pod ran" in report.output
    assert return_value(dag_id, "greets") == {"greeting": "hi pod"}
    assert_nothing_left(kubernetes, dag_id, before)


# -- 2. on_finish_action --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "fails", "pod_kept"),
    [
        ("delete_pod", True, False),
        ("delete_succeeded_pod", False, False),
        ("delete_succeeded_pod", True, True),
        ("keep_pod", False, True),
    ],
)
def test_on_finish_action_decides_the_pod_and_the_request_secret_always_goes(
    kubernetes: Any, action: str, fails: bool, pod_kept: bool
) -> None:
    from airflow_isolation.operator.exchange.result_handler import IsolatedTaskFailed

    dag_id = new_dag_id()
    before = request_secrets(kubernetes)
    options = {"on_finish_action": action}
    try:
        if fails:
            with pytest.raises(IsolatedTaskFailed, match="kaboom in a kept pod"):
                run_task(boom, dag_id=dag_id, backend_options=options)
        else:
            assert run_task(add, dag_id=dag_id, op_args=[1, 2], backend_options=options) == 3
        assert set(request_secrets(kubernetes)) <= set(before), "the request Secret was left behind"
        if pod_kept:
            assert [p for p in pods_of(kubernetes, dag_id) if not p.metadata.deletion_timestamp]
        else:
            assert_nothing_left(kubernetes, dag_id, before)
    finally:
        delete_pods_of(kubernetes, dag_id)


# -- 3. execution_timeout and on_kill -------------------------------------------------------------


def test_execution_timeout_says_so_and_deletes_pod_and_secret(kubernetes: Any) -> None:
    from airflow.sdk.exceptions import AirflowTaskTimeout

    dag_id = new_dag_id()
    before = request_secrets(kubernetes)
    with pytest.raises(AirflowTaskTimeout, match="timed out"):
        run_task(sleepy, dag_id=dag_id, execution_timeout=dt.timedelta(seconds=20))
    assert_nothing_left(kubernetes, dag_id, before)


def test_on_kill_deletes_pod_and_secret(kubernetes: Any) -> None:
    from airflow_isolation.operator.operator import IsolatedOperator

    dag_id = new_dag_id()
    before = request_secrets(kubernetes)
    op = IsolatedOperator(task_id="isolated", environment=ENVIRONMENT, backend="kubernetes",
                          python_callable=sleepy)  # fmt: skip
    raised: List[BaseException] = []

    def worker() -> None:
        from airflow.sdk.execution_time.task_runner import _run_execute_callable
        from kubernetes_cluster import StubTaskInstance

        ti = StubTaskInstance(dag_id, f"manual__{uuid.uuid4().hex}")
        context = {"ti": ti, "task_instance": ti, "run_id": ti.run_id, "dag": None, "params": {}}
        try:
            _run_execute_callable(context, op.execute, op)
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    wait_for(lambda: running(kubernetes, dag_id), "the pod running")
    op.on_kill()
    thread.join(180)
    assert not thread.is_alive(), "the run did not end after on_kill"
    assert raised, "the run succeeded although it was killed"
    assert_nothing_left(kubernetes, dag_id, before)


# -- 4. reattach after the worker was SIGKILLed ---------------------------------------------------

_WORKER = """\
import json
import logging
import sys

sys.path[:0] = [{here!r}, {testing!r}]
logging.basicConfig(level=logging.INFO, stream=sys.stdout)
from kubernetes_cluster import run_task


def slow_sum(a, b):
    import time

    print("summing slowly", flush=True)
    time.sleep(25)
    return a + b


spec = json.loads(sys.argv[1])
result = run_task(slow_sum, dag_id=spec["dag_id"], run_id=spec["run_id"], op_args=[20, 22])
print("RESULT=" + json.dumps(result), flush=True)
"""


def test_a_restarted_worker_reattaches_to_the_running_pod(
    kubernetes: Any, kubernetes_images: str, tmp_path: Path
) -> None:
    dag_id = new_dag_id()
    before = request_secrets(kubernetes)
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(_WORKER.format(here=str(HERE), testing=str(HERE.parent / "testing"))))
    spec = json.dumps({"dag_id": dag_id, "run_id": f"manual__{uuid.uuid4().hex}"})
    env = host_env(extra=settings(kubernetes_images))
    command = [sys.executable, str(script), spec]
    with open(tmp_path / "first.log", "wb") as log:
        first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(lambda: running(kubernetes, dag_id) or first.poll() is not None, "the pod running")
        assert first.poll() is None, (tmp_path / "first.log").read_text()
        first.kill()
        first.wait(30)
        pod = [p.metadata.name for p in pods_of(kubernetes, dag_id)]
        assert pod, "the pod went with its worker"
        secrets = kubernetes.list_namespaced_secret(NAMESPACE, label_selector=REQUEST_SECRETS).items
        owners = [[r.name for r in s.metadata.owner_references or []] for s in secrets
                  if s.metadata.name.startswith(pod[0])]  # fmt: skip
        assert owners == [pod], "the request Secret is not owned by its pod (Kubernetes would keep it)"

        second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
        output = second.stdout + second.stderr
        assert second.returncode == 0, output[-6000:]
        assert f"Reattached to pod {pod[0]}" in output, output[-6000:]
        assert "RESULT=42" in output
        assert_nothing_left(kubernetes, dag_id, before)
    finally:
        if first.poll() is None:
            first.kill()
        delete_pods_of(kubernetes, dag_id)


# -- 5. how a container without a result ended ----------------------------------------------------


@pytest.mark.parametrize(
    ("target", "options", "expected"),
    [
        (hog, {"container_resources": {"limits": {"memory": "64Mi"}}},
         r"out-of-memory killer \(container memory limit 64Mi\): raise container_resources"),
        (kill_myself, {}, r"killed by SIGKILL \(signal 9, exit code 137\), not by the out-of-memory"),
        (vanish, {}, r"exited with code 3\b"),
    ],
    ids=["oom", "signal", "exit"],
)  # fmt: skip
def test_a_container_that_left_no_result_says_how_it_ended(
    kubernetes: Any, target: Any, options: Dict[str, Any], expected: str
) -> None:
    from airflow_isolation.operator.exchange.result_handler import IsolatedTargetCrashed

    dag_id = new_dag_id()
    before = request_secrets(kubernetes)
    with pytest.raises(IsolatedTargetCrashed, match=expected):
        run_task(target, dag_id=dag_id, backend_options=options)
    assert_nothing_left(kubernetes, dag_id, before)


# -- 6. a 50 MiB request, never in the pod spec, events or the KPO's rendered fields --------------

PASSWORD = "pw-" + uuid.uuid4().hex


def test_a_50_mib_request_travels_in_secrets_only(kubernetes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_isolation.operator.backends.kubernetes import backend

    marker = "MARKER-" + uuid.uuid4().hex
    payload = marker + "x" * (50 * 1024 * 1024)
    conn = {"conn_type": "http", "host": "example.com", "login": "me", "password": PASSWORD}
    monkeypatch.setenv("AIRFLOW_CONN_K8S_SECRET_SURFACE", json.dumps(conn))
    operators: List[Any] = []
    build = backend.pod_operator

    def remember(*args: Any, **kwargs: Any) -> Any:
        operators.append(build(*args, **kwargs))
        return operators[-1]

    monkeypatch.setattr(backend, "pod_operator", remember)
    dag_id = new_dag_id()
    before = request_secrets(kubernetes)
    try:
        result = run_task(measure, dag_id=dag_id, op_kwargs={"payload": payload},
                          connections=["k8s_secret_surface"],
                          backend_options={"on_finish_action": "keep_pod"})  # fmt: skip
        assert result == len(payload)
        [pod] = pods_of(kubernetes, dag_id)
        spec = subprocess.run(["kubectl", "get", "pod", "-n", NAMESPACE, pod.metadata.name, "-o", "yaml"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
        events = kubernetes.list_namespaced_event(
            NAMESPACE, field_selector=f"involvedObject.name={pod.metadata.name}"
        )
        [kpo] = operators
        rendered = {name: getattr(kpo, name, None) for name in kpo.template_fields}
        surfaces = {
            "pod spec": spec,
            "events": str(kubernetes.api_client.sanitize_for_serialization(events)),
            "KPO rendered fields": str(rendered),
        }
        assert pod.metadata.name in spec and events.items
        for where, text in surfaces.items():
            assert PASSWORD not in text, f"the connection password is in the {where}"
            assert marker not in text, f"the request is in the {where}"
        assert set(request_secrets(kubernetes)) <= set(before)
    finally:
        delete_pods_of(kubernetes, dag_id)


# -- 7. request Secrets a dead worker left are swept ----------------------------------------------


def test_orphaned_request_secrets_are_swept(kubernetes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    from kubernetes.client.exceptions import ApiException

    from airflow_isolation.operator.backends.kubernetes import request_secret

    before = request_secrets(kubernetes)
    gone_pod = f"k8s-gone-{uuid.uuid4().hex[:8]}"
    orphans = request_secret.request_secrets(gone_pod, NAMESPACE, b"x" * (request_secret.CHUNK_BYTES + 1))
    assert len(orphans) == 2  # a set of parts, as a worker killed mid-creation leaves
    for secret in orphans:
        kubernetes.create_namespaced_secret(NAMESPACE, secret)
    names = {secret.metadata.name for secret in orphans}
    assert names <= set(request_secrets(kubernetes))
    # creationTimestamp cannot be set, so the grace period is shortened instead of the Secret aged
    monkeypatch.setenv("AIRFLOW__ISOLATION__KUBERNETES_SWEEP_GRACE_SECONDS", "0")
    dag_id = new_dag_id()
    try:
        assert run_task(add, dag_id=dag_id, op_args=[2, 2]) == 4
        assert not names & set(request_secrets(kubernetes)), "the orphaned request Secrets survived"
        assert_nothing_left(kubernetes, dag_id, before)
    finally:
        for name in names:
            with contextlib.suppress(ApiException):  # swept, as it should be
                kubernetes.delete_namespaced_secret(name, NAMESPACE)

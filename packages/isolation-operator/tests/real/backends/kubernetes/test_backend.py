"""The Kubernetes backend without a cluster: parse-time options, the generated pod and Secret, and
the pod's task container run in the real Docker engine (see ``kubernetes_pod_in_docker``).

Tasks go through ``IsolatedOperator.execute`` as Airflow's task runner calls it. Only the KPO's
cluster round trip is replaced: ``IsolationPodOperator.execute`` builds the pod exactly as the KPO
does (``build_pod_request_obj``), runs its base container in Docker, hands the sidecar's output to
the real ``extract_xcom`` override, and raises as the KPO's cleanup does for a failed or skipped pod.
Results are compared with the Docker backend's for the same task.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import uuid
from typing import Any, Dict, List

import pytest
from kubernetes_pod_in_docker import base_container, run_pod_in_docker, serialized
from operator_docker_support import (
    boom,
    payload_digest,
    run_like_task_runner,
    skip_me,
    task_context,
    write_half_a_result,
)

from airflow_isolation.core import decode_request
from airflow_isolation.operator.airflow_compat import AirflowException, AirflowSkipException
from airflow_isolation.operator.backends.kubernetes import request_secret
from airflow_isolation.operator.backends.kubernetes.backend import KubernetesBackendError
from airflow_isolation.operator.backends.kubernetes.pod import IsolationPodOperator
from airflow_isolation.operator.backends.options import BackendOptionsError
from airflow_isolation.operator.exchange.result_handler import IsolatedTargetCrashed, IsolatedTaskFailed
from airflow_isolation.operator.operator import IsolatedOperator

pytestmark = pytest.mark.usefixtures("docker_env")
NAMESPACE = "isolation-tests"


# --- callables shipped to the pod (source only: imports inside) ------------------------------------


def report(day: str) -> Dict[str, Any]:
    import datetime as dt
    import os

    return {"day": day, "when": dt.datetime(2024, 1, 2, 3, tzinfo=dt.timezone.utc), "tags": {"a", "b"},
            "home": os.environ["AIRFLOW_HOME"]}  # fmt: skip


def measure(text: str) -> Dict[str, Any]:
    return {"length": len(text), "head": text[:3]}


def pushes(ti: Any) -> str:
    ti.xcom_push(key="extra", value={"n": 1})
    return "pushed"


# --- a cluster stand-in ----------------------------------------------------------------------------


class _SidecarOutput:
    """``PodManager.extract_xcom`` as the sidecar answers it."""

    def __init__(self, text: str):
        self.text = text

    def extract_xcom(self, pod: Any, **_: Any) -> str:
        return self.text


@pytest.fixture
def pods(docker_client: Any, monkeypatch: pytest.MonkeyPatch) -> List[Dict[str, Any]]:
    """Every pod a test's tasks submit, with its Secret, exit code and logs."""
    monkeypatch.setenv("AIRFLOW__ISOLATION__KUBERNETES_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps({"conn_type": "kubernetes"}))
    seen: List[Dict[str, Any]] = []

    def execute(self: IsolationPodOperator, context: Any) -> None:
        pod = self.build_pod_request_obj(context, dry_run=True)
        assert self.request_secrets
        code, logs, sidecar = run_pod_in_docker(docker_client, pod, self.request_secrets)
        seen.append({"kpo": self, "pod": pod, "secrets": self.request_secrets, "exit": code, "logs": logs})
        self.__dict__["pod_manager"] = _SidecarOutput(sidecar)
        assert self.extract_xcom(pod) is None, "the result must not become the KPO's own XCom"
        if code in self.skip_on_exit_code:
            raise AirflowSkipException(f"Pod {pod.metadata.name} returned exit code {code}. Skipping.")
        if code != 0:
            raise AirflowException(f"Pod {pod.metadata.name} returned a failure.")

    monkeypatch.setattr(IsolationPodOperator, "execute", execute)
    return seen


def _run(python_callable: Any, backend: str = "kubernetes", **kwargs: Any) -> Any:
    kwargs.setdefault("environment", "dockertest")
    op = IsolatedOperator(task_id="isolated", backend=backend, python_callable=python_callable, **kwargs)
    return run_like_task_runner(op, _context())


def _context(**ti: Any) -> Dict[str, Any]:
    context = task_context(f"k8stest_{uuid.uuid4().hex[:8]}", "isolated", **ti)
    context["dag"] = None
    return context


# --- parse time ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"namspace": "x"}, r"unknown option\(s\) 'namspace' \(did you mean 'namespace'\?\)"),
        ({"container_resources": {"limits": {"memory": "lots"}}}, "not a Kubernetes quantity"),
        ({"tolerations": [{"key": "gpu", "effect": "Sometimes"}]}, "tolerations"),
        ({"affinity": {"node_affinity": {}}}, "nodeAffinity"),
        ({"env": {"DB_PASSWORD": "x"}}, "looks like a secret"),
        ({"env": {"AIRFLOW_CONN_DB": "x"}}, "kubectl get pod"),
        ({"on_finish_action": "explode"}, "on_finish_action"),
    ],
)
def test_bad_options_fail_at_parse_time(options: Dict[str, Any], message: str) -> None:
    with pytest.raises(BackendOptionsError, match=message):
        IsolatedOperator(task_id="t", environment="dockertest", backend="kubernetes",
                         backend_options=options, python_callable=boom)  # fmt: skip


# --- the generated pod -----------------------------------------------------------------------------


def test_golden_pod_and_secret(pods: List[Dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    password = f"s3cr3t-{uuid.uuid4().hex}"
    variable = f"var-{uuid.uuid4().hex}"
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", f"postgres://loader:{password}@db.internal:5432/dw")
    monkeypatch.setenv("AIRFLOW_VAR_TOKEN", variable)
    options = {
        "container_resources": {
            "requests": {"cpu": "250m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
        "node_selector": {"pool": "isolated"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "etl", "effect": "NoSchedule"}],
        "labels": {"team": "data"},
        "annotations": {"owner": "data-eng"},
        "service_account_name": "runner",
        "image_pull_secrets": ["regcred"],
        "image_pull_policy": "IfNotPresent",
        "env": {"MODE": "test"},
    }
    op = IsolatedOperator(task_id="isolated", environment="dockertest", backend="kubernetes",
                          python_callable=report, op_kwargs={"day": "2024-01-02"}, connections=["warehouse"],
                          variables=["TOKEN"], backend_options=options)  # fmt: skip
    result = run_like_task_runner(op, _context())
    assert result["day"] == "2024-01-02"
    [run] = pods
    pod, [secret] = run["pod"], run["secrets"]
    base = base_container(pod)
    assert base.image.startswith("airflow-isolation/optest:")
    assert base.command == ["/opt/isolation/venv/bin/python", "-m", "airflow_isolation.runtime"]
    assert base.args == ["--request", "/isolation-request/request.msgpack",
                         "--result", "/airflow/xcom/return.json", "--result-format", "json"]  # fmt: skip
    request_bytes = request_secret.request_from_secrets([serialized_secret(secret)])
    assert {e.name: e.value for e in base.env} == {
        "VIRTUAL_ENV": "/opt/isolation/venv", "AIRFLOW_HOME": "/opt/isolation/airflow-home",
        "PYTHONUNBUFFERED": "1", "MODE": "test",
        "ISOLATION_REQUEST_SHA256": hashlib.sha256(request_bytes).hexdigest(),
    }  # fmt: skip
    assert base.resources.requests == {"cpu": "250m", "memory": "128Mi"}
    assert base.resources.limits == {"memory": "256Mi"}
    assert base.image_pull_policy == "IfNotPresent"
    mounts = {m.name: (m.mount_path, m.read_only) for m in base.volume_mounts}
    assert mounts == {"xcom": ("/airflow/xcom", None), "isolation-request": ("/isolation-request", True)}
    volumes = {v.name: v for v in pod.spec.volumes}
    [source] = volumes["isolation-request"].projected.sources
    assert source.secret.name == secret.metadata.name == f"{pod.metadata.name}-request-0"
    assert [(i.key, i.path) for i in source.secret.items] == [("request.msgpack.part-0001-of-0001",) * 2]
    assert [c.name for c in pod.spec.containers] == ["base", "airflow-xcom-sidecar"]
    assert pod.metadata.namespace == secret.metadata.namespace == NAMESPACE
    assert (
        pod.metadata.labels["team"] == "data"
        and pod.metadata.labels["io.airflow-isolation.managed"] == "true"
    )
    assert pod.metadata.labels["task_id"] == "isolated"
    assert pod.metadata.annotations == {"owner": "data-eng"}
    assert pod.spec.node_selector == {"pool": "isolated"}
    assert [(t.key, t.value, t.effect) for t in pod.spec.tolerations] == [("dedicated", "etl", "NoSchedule")]
    assert pod.spec.service_account_name == "runner"
    assert [s.name for s in pod.spec.image_pull_secrets] == ["regcred"]
    assert run["kpo"].skip_on_exit_code == [99]
    # no secret anywhere in the pod spec, nor in the KPO's (templated) fields; all of it in the Secret
    kpo = run["kpo"]
    text = serialized(pod) + repr({f: getattr(kpo, f, None) for f in kpo.template_fields})
    for value in (password, variable, base64.b64encode(password.encode()).decode()):
        assert value not in text
    assert password not in repr(op.templated_kwargs) + repr(op.op_kwargs) + repr(op.backend_options)
    shipped = decode_request(request_bytes)
    assert [c.password for c in shipped.connections] == [password]
    assert shipped.variables == {"TOKEN": variable}
    assert secret.immutable is True and secret.type == "Opaque"


def serialized_secret(secret: Any) -> Dict[str, Any]:
    from kubernetes.client import ApiClient

    data: Dict[str, Any] = ApiClient().sanitize_for_serialization(secret)
    return data


# --- the pod's container in Docker, compared with the Docker backend -------------------------------


def test_same_result_as_the_docker_backend(pods: List[Dict[str, Any]]) -> None:
    on_docker = _run(report, backend="docker", op_kwargs={"day": "2024-01-02"})
    on_kubernetes = _run(report, op_kwargs={"day": "2024-01-02"})
    assert on_kubernetes == on_docker
    assert on_kubernetes["when"].tzinfo is not None and on_kubernetes["tags"] == {"a", "b"}
    assert pods[0]["exit"] == 0


def test_a_request_over_one_secret_arrives_in_parts(pods: List[Dict[str, Any]]) -> None:
    """Kubernetes caps a Secret at 1 MiB; a 3 MiB argument still reaches the task whole."""
    payload = "p" * (3 * 1024 * 1024)
    assert _run(measure, op_kwargs={"text": payload}) == {"length": len(payload), "head": "ppp"}
    [run] = pods
    assert len(run["secrets"]) >= 4
    assert run["exit"] == 0


def test_a_50_mib_argument_arrives_whole_from_its_parts(pods: List[Dict[str, Any]]) -> None:
    payload = os.urandom(50 * 1024 * 1024)
    answer = _run(payload_digest, op_kwargs={"blob": payload})
    assert (answer["sha256"], answer["length"]) == (hashlib.sha256(payload).hexdigest(), len(payload))
    [run] = pods
    assert run["exit"] == 0
    parts = {key: base64.b64decode(value) for secret in run["secrets"] for key, value in secret.data.items()}
    count = math.ceil(sum(map(len, parts.values())) / request_secret.CHUNK_BYTES)
    assert list(parts) == [request_secret.part_name(index, count) for index in range(count)]
    assert all(len(part) <= request_secret.CHUNK_BYTES for part in parts.values())
    sent = decode_request(request_secret.request_from_secrets([{"data": s.data} for s in run["secrets"]]))
    assert sent.task.kwargs["blob"] == payload
    print(f"\nkubernetes: 50 MiB argument in {count} Secrets, target peak {answer['peak_rss'] >> 20} MiB")


def test_extra_xcom_pushes_are_replayed(pods: List[Dict[str, Any]]) -> None:
    op = IsolatedOperator(
        task_id="isolated", environment="dockertest", backend="kubernetes", python_callable=pushes
    )
    context = _context()
    assert run_like_task_runner(op, context) == "pushed"
    assert context["ti"].pushed == {"extra": {"n": 1}}


def test_failure_surfaces_the_remote_traceback(
    pods: List[Dict[str, Any]], capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(IsolatedTaskFailed, match="ValueError: kaboom 42"):
        _run(boom)
    assert pods[0]["exit"] == 1
    assert 'raise ValueError("kaboom 42")' in "".join(capfd.readouterr())


def test_skip(pods: List[Dict[str, Any]]) -> None:
    with pytest.raises(AirflowSkipException, match="nothing to do today"):
        _run(skip_me)
    assert pods[0]["exit"] == 99


def test_a_recreated_request_secret_is_refused(
    pods: List[Dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone with RBAC on Secrets deletes and recreates a request Secret with other, valid data
    before the kubelet mounts it: the digest in the (immutable) pod spec no longer matches."""
    run_in_docker = run_pod_in_docker

    def recreate_secret_then_run(client: Any, pod: Any, secrets: List[Any]) -> tuple[int, str, str]:
        [secret] = secrets
        [(key, encoded)] = secret.data.items()
        forged = base64.b64decode(encoded).replace(b"2024-01-02", b"1999-12-31")
        assert decode_request(forged).task.kwargs == {"day": "1999-12-31"}  # still a valid request
        secret.data = {key: base64.b64encode(forged).decode()}
        return run_in_docker(client, pod, secrets)

    monkeypatch.setitem(globals(), "run_pod_in_docker", recreate_secret_then_run)
    with pytest.raises(IsolatedTaskFailed, match=r"RequestIntegrityError.*does not match the SHA-256"):
        _run(report, op_kwargs={"day": "2024-01-02"})
    assert pods[0]["exit"] == 2
    assert "1999-12-31" not in pods[0]["logs"]


def test_truncated_result_in_the_sidecar(pods: List[Dict[str, Any]]) -> None:
    """The pod's process writes half of its JSON result and exits 0: the sidecar hands over what
    is in ``return.json``, and the host says it is cut short instead of failing to decode."""
    with pytest.raises(IsolatedTargetCrashed) as info:
        _run(write_half_a_result)
    assert pods[0]["exit"] == 0
    message = str(info.value)
    assert "left a truncated or corrupt result (" in message
    assert "bytes of json: Input data was truncated); the target exited with code 0." in message


def crash() -> None:
    import os

    os._exit(3)


def test_pod_crashing_before_the_result(pods: List[Dict[str, Any]]) -> None:
    with pytest.raises(
        KubernetesBackendError, match=r"\(kubernetes pod of .*\) ended without a result: Pod "
    ):
        _run(crash)
    assert pods[0]["exit"] == 3

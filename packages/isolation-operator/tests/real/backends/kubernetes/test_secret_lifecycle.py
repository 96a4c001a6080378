"""The request Secret's life against a recording Kubernetes API client: created before the pod,
owned by it, deleted at every ending; dropped when the KPO reattaches to an earlier pod; and a
deferred run resumes through ``IsolatedOperator`` with the KPO's event."""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, List
from unittest import mock

import pytest
from kubernetes.client import models as k8s
from operator_docker_support import task_context

from airflow_isolation.core import SCHEMA_VERSION, IsolationResult, encode_json
from airflow_isolation.operator.airflow_compat import TaskDeferred
from airflow_isolation.operator.backends.kubernetes import request_secret
from airflow_isolation.operator.backends.kubernetes.pod import IsolationPodOperator
from airflow_isolation.operator.operator import IsolatedOperator

pytestmark = pytest.mark.usefixtures("docker_env")


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__ISOLATION__KUBERNETES_NAMESPACE", "ns")
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps({"conn_type": "kubernetes"}))


def double(text: str) -> int:
    return len(text)


def _context() -> Dict[str, Any]:
    context = task_context("k8s_secret", "isolated")
    context["dag"] = None
    return context


def _kpo(
    existing: List[k8s.V1Pod], request: bytes = b"\x81req"
) -> tuple[IsolationPodOperator, mock.MagicMock]:
    kpo = IsolationPodOperator(task_id="isolated", image="img", namespace="ns", request=request,
                               do_xcom_push=True, reattach_on_restart=True)  # fmt: skip
    client = mock.MagicMock(name="CoreV1Api")
    client.list_namespaced_pod.return_value = k8s.V1PodList(items=existing)
    client.read_namespaced_pod.side_effect = lambda name, namespace: k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, namespace=namespace, uid="uid-1")
    )
    kpo.__dict__["client"] = client
    kpo.__dict__["pod_manager"] = mock.MagicMock(name="PodManager")
    return kpo, client


def test_secret_is_created_before_the_pod_and_owned_by_it() -> None:
    kpo, client = _kpo([])
    context = _context()
    pod = kpo.get_or_create_pod(kpo.build_pod_request_obj(context, dry_run=True), context)
    name = f"{pod.metadata.name}-request-0"
    client.create_namespaced_secret.assert_called_once()
    assert client.create_namespaced_secret.call_args.kwargs["body"].metadata.name == name
    patch = client.patch_namespaced_secret.call_args.args
    assert patch[:2] == (name, "ns")
    [owner] = patch[2]["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Pod", pod.metadata.name, "uid-1")

    kpo.post_complete_action(pod=pod, remote_pod=None, context=context, result=None)
    client.delete_namespaced_secret.assert_called_once_with(name, "ns")


def test_secret_is_deleted_when_the_pod_cannot_be_created() -> None:
    kpo, client = _kpo([])
    kpo.pod_manager.create_pod.side_effect = RuntimeError("forbidden")
    context = _context()
    request = kpo.build_pod_request_obj(context, dry_run=True)
    with pytest.raises(RuntimeError, match="forbidden"):
        kpo.get_or_create_pod(request, context)
    client.delete_namespaced_secret.assert_called_once_with(f"{request.metadata.name}-request-0", "ns")


def test_a_large_request_travels_in_parts_each_under_the_secret_limit() -> None:
    request = bytes(range(256)) * (9 * 1024)  # 2.25 MiB
    kpo, client = _kpo([], request)
    context = _context()
    pod = kpo.get_or_create_pod(kpo.build_pod_request_obj(context, dry_run=True), context)
    names = [f"{pod.metadata.name}-request-{i}" for i in range(3)]
    bodies = [call.kwargs["body"] for call in client.create_namespaced_secret.call_args_list]
    assert [body.metadata.name for body in bodies] == names
    for body in bodies:
        [encoded] = body.data.values()
        assert len(base64.b64decode(encoded)) <= 768 * 1024 < 1024 * 1024
    assert request_secret.request_from_secrets([{"data": body.data} for body in bodies]) == request
    [volume] = [v for v in pod.spec.volumes if v.name == "isolation-request"]
    projected = [(src.secret.name, [i.path for i in src.secret.items]) for src in volume.projected.sources]
    assert projected == [(names[i], [f"request.msgpack.part-000{i + 1}-of-0003"]) for i in range(3)]
    assert [call.args[0] for call in client.patch_namespaced_secret.call_args_list] == names
    kpo.post_complete_action(pod=pod, remote_pod=None, context=context, result=None)
    assert [call.args for call in client.delete_namespaced_secret.call_args_list] == [
        (n, "ns") for n in names
    ]


def test_a_request_over_64_mib_is_refused_before_anything_is_created() -> None:
    kpo, client = _kpo([], b"x" * (64 * 1024 * 1024 + 1))
    with pytest.raises(request_secret.RequestTooLargeError, match="over the 64 MiB"):
        kpo.build_pod_request_obj(_context(), dry_run=True)
    client.create_namespaced_secret.assert_not_called()


def test_reattaching_drops_the_new_secret() -> None:
    running = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="isolated-old", namespace="ns", labels={"try_number": "1"}),
        status=k8s.V1PodStatus(phase="Running"),
    )
    kpo, client = _kpo([running])
    context = _context()
    request = kpo.build_pod_request_obj(context, dry_run=True)
    assert kpo.get_or_create_pod(request, context) is running
    client.delete_namespaced_secret.assert_called_once_with(f"{request.metadata.name}-request-0", "ns")
    client.patch_namespaced_secret.assert_not_called()


def test_on_kill_deletes_pod_and_secret() -> None:
    kpo, client = _kpo([])
    context = _context()
    kpo.pod = kpo.get_or_create_pod(kpo.build_pod_request_obj(context, dry_run=True), context)
    kpo.on_kill()
    client.delete_namespaced_pod.assert_called_once()
    client.delete_namespaced_secret.assert_called_once_with(f"{kpo.pod.metadata.name}-request-0", "ns")


def test_deferral_resumes_through_the_isolated_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    """The KPO defers to ``trigger_reentry`` on itself; the task's operator is IsolatedOperator, so
    the deferral must come back to it and reach a freshly built KPO's ``trigger_reentry``."""
    trigger = object()

    def execute(self: IsolationPodOperator, context: Any) -> None:
        assert self.deferrable
        raise TaskDeferred(trigger=trigger, method_name="trigger_reentry")  # type: ignore[arg-type]

    def trigger_reentry(self: IsolationPodOperator, context: Any, event: Dict[str, Any]) -> None:
        self.result_json = event["result"]

    monkeypatch.setattr(IsolationPodOperator, "execute", execute)
    monkeypatch.setattr(IsolationPodOperator, "trigger_reentry", trigger_reentry, raising=False)
    op = IsolatedOperator(
        task_id="isolated",
        environment="dockertest",
        backend="kubernetes",
        backend_options={"deferrable": True},
        python_callable=double,
        op_args=["ab"],
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(_context())
    assert deferred.value.trigger is trigger
    assert deferred.value.method_name == "resume_isolated"
    result = encode_json(IsolationResult(schema=SCHEMA_VERSION, status="success", return_value=2))
    event = {"name": "isolated-abc", "namespace": "ns", "status": "success", "result": result}
    assert op.resume_isolated(_context(), event=event, **deferred.value.kwargs) == 2

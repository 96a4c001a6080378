"""Request Secrets a worker killed mid-task left behind are deleted by the next Kubernetes run.

There is no cluster here, so the API is a small in-memory fake of the five calls involved (create,
patch and delete a Secret, list Secrets' metadata by label, read a pod), which records every call.
The selection rule itself is tested as a pure function.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, List, Optional, Set
from unittest import mock

import pytest
from kubernetes.client import ApiClient
from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException
from operator_docker_support import task_context

from airflow_isolation.operator.backends.kubernetes import request_secret
from airflow_isolation.operator.backends.kubernetes.pod import IsolationPodOperator
from airflow_isolation.operator.backends.kubernetes.sweep import (
    GRACE,
    METADATA_ONLY,
    RequestSecret,
    orphaned,
    sweep_request_secrets,
)

NOW = dt.datetime(2024, 1, 2, 12, 0, tzinfo=dt.timezone.utc)
OLD = NOW - GRACE - dt.timedelta(seconds=1)


class FakeCoreV1:
    """Secrets and pods of one namespace; ``calls`` records what was asked."""

    def __init__(self, now: dt.datetime = NOW):
        self.now = now
        self.secrets: Dict[str, Dict[str, Any]] = {}
        self.pods: Set[str] = set()
        self.calls: List[tuple] = []
        self.api_client = mock.Mock(call_api=self._call_api)

    def _call_api(self, path: str, method: str, **kwargs: Any) -> Any:
        self.calls.append(
            ("list", path, kwargs["path_params"], kwargs["query_params"], kwargs["header_params"])
        )
        assert (path, method) == ("/api/v1/namespaces/{namespace}/secrets", "GET")
        [(_, selector)] = kwargs["query_params"]
        label, _, value = selector.partition("=")
        items = [
            {"metadata": s["metadata"]}
            for s in self.secrets.values()
            if s["metadata"]["labels"].get(label) == value
        ]
        listing = {"kind": "PartialObjectMetadataList", "items": items}
        return mock.Mock(data=json.dumps(listing).encode())

    def create_namespaced_secret(self, namespace: str, body: k8s.V1Secret) -> None:
        self.calls.append(("create", body.metadata.name))
        data = ApiClient().sanitize_for_serialization(body)
        data["metadata"]["creationTimestamp"] = self.now.isoformat().replace("+00:00", "Z")
        self.secrets[body.metadata.name] = data

    def patch_namespaced_secret(self, name: str, namespace: str, body: Dict[str, Any]) -> None:
        self.calls.append(("patch", name))
        self.secrets[name]["metadata"].update(body["metadata"])

    def delete_namespaced_secret(self, name: str, namespace: str) -> None:
        self.calls.append(("delete", name))
        if self.secrets.pop(name, None) is None:
            raise ApiException(status=404, reason="Not Found")

    def read_namespaced_pod(self, name: str, namespace: str) -> k8s.V1Pod:
        self.calls.append(("read pod", name))
        if name not in self.pods:
            raise ApiException(status=404, reason="Not Found")
        return k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=name, namespace=namespace, uid=f"uid-{name}"))

    def list_namespaced_pod(self, namespace: str, **_: Any) -> k8s.V1PodList:
        return k8s.V1PodList(items=[])


def _secret(name: str, pod: str, created: dt.datetime = OLD, owned: bool = False) -> RequestSecret:
    return RequestSecret(name, pod, created, owned)


# --- the selection rule ----------------------------------------------------------------------------


def test_only_unowned_old_secrets_of_missing_pods_are_chosen() -> None:
    asked: List[str] = []

    def pod_exists(pod: str) -> bool:
        asked.append(pod)
        return pod == "live"

    secrets = [
        _secret("gone-request-0", "gone"),
        _secret("gone-request-1", "gone"),
        _secret("owned-request-0", "owned", owned=True),
        _secret("young-request-0", "young", created=NOW - GRACE + dt.timedelta(seconds=1)),
        _secret("live-request-0", "live"),
    ]
    assert [s.name for s in orphaned(secrets, pod_exists, NOW, GRACE)] == ["gone-request-0", "gone-request-1"]
    assert asked == ["gone", "live"], "owned and young Secrets must not cost a pod lookup; one per pod"


def test_the_pod_comes_from_the_annotation_else_the_name() -> None:
    base = {"name": "isolated-abc-request-3", "creationTimestamp": "2024-01-02T10:00:00Z"}
    assert RequestSecret.from_metadata(base) == RequestSecret(
        "isolated-abc-request-3", "isolated-abc", dt.datetime(2024, 1, 2, 10, tzinfo=dt.timezone.utc), False
    )
    annotated = {
        **base,
        "annotations": {request_secret.POD_ANNOTATION: "p"},
        "ownerReferences": [{"kind": "Pod"}],
    }
    assert RequestSecret.from_metadata(annotated).pod == "p"
    assert RequestSecret.from_metadata(annotated).owned


# --- against the recording API ---------------------------------------------------------------------


def _create(api: FakeCoreV1, pod: str, request: bytes = b"\x81req") -> List[str]:
    secrets = request_secret.request_secrets(pod, "ns", request)
    for secret in secrets:
        api.create_namespaced_secret(namespace="ns", body=secret)
    return [secret.metadata.name for secret in secrets]


def test_sweep_deletes_orphans_only_and_lists_metadata_only() -> None:
    api = FakeCoreV1(now=OLD)
    orphan = _create(api, "dead-pod", b"x" * (request_secret.CHUNK_BYTES + 1))  # two parts
    running = _create(api, "running-pod")
    api.pods.add("running-pod")
    owned = _create(api, "owned-pod")
    api.patch_namespaced_secret(
        owned[0], "ns", {"metadata": {"ownerReferences": [{"kind": "Pod", "name": "owned-pod"}]}}
    )
    api.now = NOW
    fresh = _create(api, "starting-pod")  # another worker, between creating Secrets and its pod
    reports: List[str] = []

    assert sweep_request_secrets(api, "ns", now=NOW, report=reports.append) == orphan
    assert sorted(api.secrets) == sorted(running + owned + fresh)
    [listing] = [call for call in api.calls if call[0] == "list"]
    assert listing[2:] == ({"namespace": "ns"}, [("labelSelector", "airflow-isolation/request=true")],
                           {"Accept": METADATA_ONLY})  # fmt: skip
    assert reports == [
        f"deleted orphaned request Secret ns/{name} (its pod dead-pod is gone)" for name in orphan
    ]


def test_a_run_after_a_worker_died_mid_task_deletes_what_it_left() -> None:
    """Worker 1 created its Secrets and died before its pod owned them (nothing deleted them);
    the next Kubernetes run in the namespace, once the grace period is over, deletes them."""
    api = FakeCoreV1(now=OLD)
    left = _create(api, "isolated-died")
    api.now = NOW

    kpo = IsolationPodOperator(task_id="isolated", image="img", namespace="ns", request=b"\x81req",
                               do_xcom_push=True, reattach_on_restart=False)  # fmt: skip
    kpo.__dict__["client"] = api
    kpo.__dict__["pod_manager"] = mock.MagicMock(name="PodManager")
    kpo.pod_manager.create_pod.side_effect = lambda pod: api.pods.add(pod.metadata.name)
    context = task_context("k8s_sweep", "isolated")
    context["dag"] = None
    pod = kpo.get_or_create_pod(kpo.build_pod_request_obj(context, dry_run=True), context)

    [mine] = [s.metadata.name for s in kpo.request_secrets]
    assert sorted(api.secrets) == [mine], "the dead worker's Secret should be gone, this run's created"
    assert [call[:2] for call in api.calls] == [
        ("create", left[0]),  # worker 1, which then died
        ("list", "/api/v1/namespaces/{namespace}/secrets"),
        ("read pod", "isolated-died"),
        ("delete", left[0]),
        ("create", mine),
        ("read pod", pod.metadata.name),
        ("patch", mine),
    ]
    [owner] = api.secrets[mine]["metadata"]["ownerReferences"]
    assert owner["name"] == pod.metadata.name
    assert api.secrets[mine]["metadata"]["annotations"] == {request_secret.POD_ANNOTATION: pod.metadata.name}


def test_a_sweep_that_is_forbidden_does_not_fail_the_run(capfd: pytest.CaptureFixture[str]) -> None:
    api = FakeCoreV1()

    def forbidden(*_: Any, **__: Any) -> Optional[Dict[str, Any]]:
        raise ApiException(status=403, reason="Forbidden")

    api.api_client = mock.Mock(call_api=forbidden)
    kpo = IsolationPodOperator(task_id="isolated", image="img", namespace="ns", request=b"\x81req",
                               do_xcom_push=True, reattach_on_restart=False)  # fmt: skip
    kpo.__dict__["client"] = api
    kpo.__dict__["pod_manager"] = mock.MagicMock(name="PodManager")
    context = task_context("k8s_sweep", "isolated")
    context["dag"] = None
    kpo.get_or_create_pod(kpo.build_pod_request_obj(context, dry_run=True), context)
    assert len(api.secrets) == 1
    warning = "Could not sweep orphaned request Secrets in namespace ns (Forbidden): grant this worker `list`"
    assert warning in capfd.readouterr().out

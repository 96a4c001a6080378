"""How a container that left no result is described, from its status as the kubelet reports it."""

from __future__ import annotations

from typing import Any, Optional

import pytest
from kubernetes.client import models as k8s

from airflow_isolation.operator.backends.kubernetes.options import parse_kubernetes_options
from airflow_isolation.operator.backends.kubernetes.pod_exit import container_exit
from airflow_isolation.operator.backends.kubernetes.request_secret import owner_references


def _pod(exit_code: Optional[int], reason: str = "Error", container: str = "base") -> k8s.V1Pod:
    ended = exit_code is not None
    terminated = k8s.V1ContainerStateTerminated(exit_code=exit_code, reason=reason) if ended else None
    state = k8s.V1ContainerState(terminated=terminated)
    status = k8s.V1ContainerStatus(name=container, state=state, image="i", image_id="i", ready=False,
                                   restart_count=0)  # fmt: skip
    return k8s.V1Pod(status=k8s.V1PodStatus(container_statuses=[status]))


@pytest.mark.parametrize(
    ("pod", "options", "detail"),
    [
        (_pod(137, "OOMKilled"), {"container_resources": {"limits": {"memory": "64Mi"}}},
         'out-of-memory killer (container memory limit 64Mi): raise container_resources["limits"]["memory"]'),
        (_pod(137, "OOMKilled"), {}, "no memory limit set"),
        (_pod(137), {}, "killed by SIGKILL (signal 9, exit code 137), not by the out-of-memory killer"),
        (_pod(143), {}, "killed by SIGTERM (signal 15, exit code 143)"),
        (_pod(3), {}, "exited with code 3"),
        (_pod(128 + 60), {}, "killed by an unknown signal (signal 60"),
    ],
)  # fmt: skip
def test_each_ending_names_its_cause(pod: k8s.V1Pod, options: Any, detail: str) -> None:
    end = container_exit(pod, "base", parse_kubernetes_options(options))
    assert end is not None and detail in end.detail


@pytest.mark.parametrize("pod", [_pod(None), _pod(3, container="sidecar"), k8s.V1Pod(), None])
def test_a_container_that_never_ended_has_no_ending(pod: Any) -> None:
    assert container_exit(pod, "base", parse_kubernetes_options({})) is None


def test_owner_references_are_in_the_apis_form() -> None:
    pod = k8s.V1Pod(metadata=k8s.V1ObjectMeta(name="p", uid="u"))
    assert owner_references(pod) == [
        {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u", "blockOwnerDeletion": False}
    ]

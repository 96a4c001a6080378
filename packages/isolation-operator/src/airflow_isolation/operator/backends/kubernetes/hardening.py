"""The security settings of a target pod: what keeps the task's code from the cluster (DESIGN.md §8).

A pod Kubernetes starts with its defaults mounts its service account's API token, lets a setuid
binary raise privileges, keeps the runtime's default capabilities and runs unconfined by seccomp.
A target pod gets none of that unless its task asks:

* no service account token (``automountServiceAccountToken: false``): the task talks to the
  cluster only through the connections it is sent; ``automount_service_account_token=True``
  mounts it (a task that must call the API, with a ``service_account_name`` made for it);
* its container (and the xcom sidecar) with ``allowPrivilegeEscalation: false``, every capability
  dropped and the ``RuntimeDefault`` seccomp profile; ``container_security_context`` sets keys of
  its own over these (the API's camelCase form, as in the KPO);
* ``security_context`` is the pod's (``{"runAsNonRoot": True, "runAsUser": 1000}``), empty by
  default: the environment's image decides its user, and an image built by ``isolationctl`` runs
  as root in its container unless told otherwise.

Everything here is in the pod spec, so ``kubectl get pod -o yaml`` shows what a run had.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from kubernetes.client import ApiClient
from kubernetes.client import models as k8s

HARDENED_CONTAINER: Mapping[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""A container's ``securityContext`` when the task sets none of it."""


class _Body:
    """What ``ApiClient.deserialize`` reads: a response's JSON ``data``."""

    def __init__(self, value: Mapping[str, Any]) -> None:
        self.data = json.dumps(value)


def _model(value: Mapping[str, Any], kind: str) -> Any:
    """The client's model of an API-form (camelCase) dict: the KPO merges a ``pod_template_file``
    with models, not with dicts."""
    return ApiClient().deserialize(_Body(value), kind)


def container_security_context(overrides: Mapping[str, Any]) -> k8s.V1SecurityContext:
    """The task container's ``securityContext``: :data:`HARDENED_CONTAINER`, the task's keys over it."""
    return _model({**HARDENED_CONTAINER, **overrides}, "V1SecurityContext")


def sidecar_security_context() -> k8s.V1SecurityContext:
    """The xcom sidecar's: it only waits for the result file to be read, and needs nothing more."""
    return _model(HARDENED_CONTAINER, "V1SecurityContext")


def pod_security_context(given: Mapping[str, Any]) -> Optional[k8s.V1PodSecurityContext]:
    """The pod's ``securityContext`` the task sets, if any."""
    return _model(given, "V1PodSecurityContext") if given else None

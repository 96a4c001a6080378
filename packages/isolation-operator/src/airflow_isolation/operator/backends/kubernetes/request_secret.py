"""The request's way into the pod: per-run Kubernetes Secrets, projected as read-only files.

Kubernetes refuses a Secret over 1 MiB, and the request may be up to 64 MiB (the transport
contract), so it is cut into parts of ``CHUNK_BYTES``, one Secret each, projected into one folder
as ``request.msgpack.part-0001-of-0003`` … . The runtime reassembles them, refusing an incomplete
set. A small request is one part, in one Secret.

The request holds connection passwords and variables, so it is never put in the pod spec (``kubectl
get pod -o yaml`` and the task's rendered fields show the spec): the spec only names the Secret and
the file the runtime reads. The Secret carries a label, so leftovers can be found, and is made
owned by its pod once the pod exists, so Kubernetes deletes it with the pod even if the worker dies;
the backend also deletes them itself when the run ends, and ``kubernetes.sweep`` deletes those a
worker killed before its pod owned them left behind.
"""

from __future__ import annotations

import base64
from typing import Any, Dict, List

from kubernetes.client import models as k8s

from airflow_isolation.core import launch
from airflow_isolation.operator.backends import ownership

REQUEST_VOLUME = "isolation-request"
REQUEST_DIR = "/isolation-request"
REQUEST_KEY = launch.REQUEST_FILE_NAME
REQUEST_FILE = f"{REQUEST_DIR}/{REQUEST_KEY}"
CHUNK_BYTES = 768 * 1024
"""Raw bytes per Secret: Kubernetes refuses Secrets over 1 MiB (an etcd limit), with headroom."""
MAX_REQUEST_BYTES = 64 * 1024 * 1024
SECRET_LABEL = ownership.kubernetes_key(ownership.REQUEST)
MANAGED_LABEL = ownership.reverse_dns_key(ownership.MANAGED)
POD_ANNOTATION = ownership.kubernetes_key(ownership.POD)
"""The pod a request Secret belongs to, for the sweep of Secrets whose worker died before the pod
owned them (``kubernetes.sweep``)."""
# Readable by the container's user whatever uid the image runs as: the file exists only inside
# this one pod, which is the task itself.
_FILE_MODE = 0o444


class RequestTooLargeError(ValueError):
    pass


def secret_name(pod_name: str, index: int) -> str:
    """Derived from the pod's name: a resumed (deferred) run finds them from the pod's spec."""
    return f"{pod_name}-request-{index}"


def part_name(index: int, count: int) -> str:
    """The file name of part ``index`` (from 0) of ``count``, as the runtime reassembles them."""
    return launch.part_name(REQUEST_KEY, index + 1, count)


def request_secrets(pod_name: str, namespace: str, request: bytes) -> List[k8s.V1Secret]:
    if len(request) > MAX_REQUEST_BYTES:
        raise RequestTooLargeError(
            f"the task's request is {len(request)} bytes, over the 64 MiB an isolated task may carry: "
            "pass large inputs by reference (a path in object storage, a table name) instead of "
            "as op_args/op_kwargs or XComs"
        )
    view = memoryview(request)  # slices of it are not copies: only the base64 text is new
    chunks = [view[start : start + CHUNK_BYTES] for start in range(0, len(request), CHUNK_BYTES)] or [view]
    return [
        k8s.V1Secret(
            api_version="v1",
            kind="Secret",
            metadata=k8s.V1ObjectMeta(
                name=secret_name(pod_name, index),
                namespace=namespace,
                labels={SECRET_LABEL: "true", MANAGED_LABEL: "true"},
                annotations={POD_ANNOTATION: pod_name},
            ),
            type="Opaque",
            immutable=True,
            data={part_name(index, len(chunks)): base64.b64encode(chunk).decode("ascii")},
        )
        for index, chunk in enumerate(chunks)
    ]


def attach(pod: k8s.V1Pod, secrets: List[k8s.V1Secret], container_name: str) -> k8s.V1Pod:
    """Project every part's Secret read-only into ``REQUEST_DIR`` of the task's container."""
    sources = [
        k8s.V1VolumeProjection(
            secret=k8s.V1SecretProjection(
                name=secret.metadata.name,
                items=[k8s.V1KeyToPath(key=key, path=key) for key in secret.data],
                optional=False,
            )
        )
        for secret in secrets
    ]
    pod.spec.volumes = [
        *(pod.spec.volumes or []),
        k8s.V1Volume(
            name=REQUEST_VOLUME,
            projected=k8s.V1ProjectedVolumeSource(sources=sources, default_mode=_FILE_MODE),
        ),
    ]
    for container in pod.spec.containers:
        if container.name == container_name:
            container.volume_mounts = [
                *(container.volume_mounts or []),
                k8s.V1VolumeMount(name=REQUEST_VOLUME, mount_path=REQUEST_DIR, read_only=True),
            ]
            return pod
    raise ValueError(f"the pod has no container named {container_name!r} to mount the request in")


def owner_references(pod: Any) -> List[Dict[str, Any]]:
    """``metadata.ownerReferences`` making ``pod`` the owner, in the API's (camelCase) form a patch
    body needs: a model's ``to_dict()`` has snake_case keys, which the API server refuses."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": pod.metadata.name,
            "uid": pod.metadata.uid,
            "blockOwnerDeletion": False,
        }
    ]


def secret_names_of(pod: Any) -> List[str]:
    """The request Secrets a pod mounts (from its spec)."""
    volumes: List[Any] = list(getattr(getattr(pod, "spec", None), "volumes", None) or [])
    for volume in volumes:
        if volume.name == REQUEST_VOLUME and volume.projected is not None:
            return [source.secret.name for source in volume.projected.sources if source.secret is not None]
    return []


def request_from_secrets(secrets: List[Dict[str, Any]]) -> bytes:
    """The request bytes of Secret manifests (their serialized form), reassembled in part order."""
    parts = {key: base64.b64decode(value) for secret in secrets for key, value in secret["data"].items()}
    return b"".join(parts[key] for key in sorted(parts))

"""The request's way into the pod: a per-run Kubernetes Secret mounted as a read-only file.

The request holds connection passwords and variables, so it is never put in the pod spec (``kubectl
get pod -o yaml`` and the task's rendered fields show the spec): the spec only names the Secret and
the file the runtime reads. The Secret carries a label, so leftovers can be found, and is made
owned by its pod once the pod exists, so Kubernetes deletes it with the pod even if the worker dies;
the backend also deletes it itself when the run ends.
"""

from __future__ import annotations

import base64
from typing import Any, Dict, List, Optional

from kubernetes.client import models as k8s

from airflow_isolation.core.environment import LABEL_PREFIX

REQUEST_VOLUME = "isolation-request"
REQUEST_DIR = "/isolation-request"
REQUEST_KEY = "request.msgpack"
REQUEST_FILE = f"{REQUEST_DIR}/{REQUEST_KEY}"
MAX_SECRET_BYTES = 1024 * 1024
"""Kubernetes refuses Secrets over 1 MiB (an etcd limit)."""
SECRET_LABEL = "airflow-isolation/request"
# Readable by the container's user whatever uid the image runs as: the file exists only inside
# this one pod, which is the task itself.
_FILE_MODE = 0o444


class RequestTooLargeError(ValueError):
    pass


def secret_name(pod_name: str) -> str:
    """Derived from the pod's name, so a resumed (deferred) run finds it without storing it."""
    return f"{pod_name}-request"


def request_secret(name: str, namespace: str, request: bytes) -> k8s.V1Secret:
    if len(request) > MAX_SECRET_BYTES:
        raise RequestTooLargeError(
            f"the task's request is {len(request)} bytes, over the 1 MiB Kubernetes allows in a Secret: "
            "pass large inputs by reference (a path in object storage, a table name) instead of "
            "as op_args/op_kwargs or XComs, or use backend='docker'"
        )
    return k8s.V1Secret(
        api_version="v1",
        kind="Secret",
        metadata=k8s.V1ObjectMeta(
            name=name, namespace=namespace, labels={SECRET_LABEL: "true", f"{LABEL_PREFIX}managed": "true"}
        ),
        type="Opaque",
        immutable=True,
        data={REQUEST_KEY: base64.b64encode(request).decode("ascii")},
    )


def attach(pod: k8s.V1Pod, name: str, container_name: str) -> k8s.V1Pod:
    """Mount Secret ``name`` read-only at ``REQUEST_DIR`` in the task's container."""
    pod.spec.volumes = [
        *(pod.spec.volumes or []),
        k8s.V1Volume(
            name=REQUEST_VOLUME,
            secret=k8s.V1SecretVolumeSource(secret_name=name, default_mode=_FILE_MODE, optional=False),
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


def owner_reference(pod: Any) -> List[k8s.V1OwnerReference]:
    return [
        k8s.V1OwnerReference(
            api_version="v1",
            kind="Pod",
            name=pod.metadata.name,
            uid=pod.metadata.uid,
            block_owner_deletion=False,
        )
    ]


def secret_name_of(pod: Any) -> Optional[str]:
    """The request Secret a pod mounts (from its spec), if it has one."""
    volumes: List[Any] = list(getattr(getattr(pod, "spec", None), "volumes", None) or [])
    for volume in volumes:
        if volume.name == REQUEST_VOLUME and volume.secret is not None:
            name: Optional[str] = volume.secret.secret_name
            return name
    return None


def request_from_secret(secret: Dict[str, Any]) -> bytes:
    """The request bytes of a Secret manifest (its ``to_dict()``), as the kubelet writes the file."""
    return base64.b64decode(secret["data"][REQUEST_KEY])

"""Running a generated pod's task container in the real Docker engine, as the kubelet would.

There is no cluster here, so this stands in for one at the only boundary that matters to the
isolation contract: the base container of the V1Pod the KubernetesPodOperator would submit runs with
exactly its image, command, args and env; the request Secrets' data become the files at the projected volume's
mount path (as the kubelet projects it, mode included); ``/airflow/xcom`` is a host folder playing
the shared emptyDir; and the result is read the way the xcom sidecar contract does (``cat`` of a
non-empty ``return.json``, else the provider's empty marker).
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

from airflow.providers.cncf.kubernetes.utils.pod_manager import EMPTY_XCOM_RESULT
from airflow.providers.cncf.kubernetes.utils.xcom_sidecar import PodDefaults
from kubernetes.client import models as k8s


def base_container(pod: k8s.V1Pod) -> k8s.V1Container:
    return next(c for c in pod.spec.containers if c.name == "base")


def run_pod_in_docker(client: Any, pod: k8s.V1Pod, secrets: List[k8s.V1Secret]) -> tuple[int, str, str]:
    """``(exit code, logs, what the sidecar would return)`` of the pod's base container."""
    container = base_container(pod)
    volumes = {v.name: v for v in pod.spec.volumes}
    with tempfile.TemporaryDirectory() as tmp:
        binds: Dict[str, Dict[str, str]] = {}
        for mount in container.volume_mounts:
            volume = volumes[mount.name]
            host = Path(tmp) / mount.name
            host.mkdir()
            if volume.projected is not None:
                by_name = {secret.metadata.name: secret for secret in secrets}
                for source in volume.projected.sources:
                    secret = by_name[source.secret.name]
                    for item in source.secret.items:
                        path = host / item.path
                        path.write_bytes(base64.b64decode(secret.data[item.key]))
                        os.chmod(path, volume.projected.default_mode)
                os.chmod(host, 0o755)
            elif volume.empty_dir is not None:
                os.chmod(host, 0o777)
            else:
                raise AssertionError(f"the harness does not know volume {volume}")
            binds[str(host)] = {"bind": mount.mount_path, "mode": "ro" if mount.read_only else "rw"}
        env: List[str] = [f"{e.name}={e.value}" for e in container.env or []]
        run = client.containers.run(
            container.image, entrypoint=container.command, command=container.args, environment=env,
            volumes=binds, detach=True,
        )  # fmt: skip
        try:
            exit_code = int(run.wait(timeout=300)["StatusCode"])
            logs = run.logs().decode("utf-8", "replace")
        finally:
            run.remove(force=True)
        xcom_dir = next(h for h, b in binds.items() if b["bind"] == PodDefaults.XCOM_MOUNT_PATH)
        result = Path(xcom_dir) / "return.json"
        sidecar = result.read_text() if result.exists() and result.stat().st_size else EMPTY_XCOM_RESULT
        return exit_code, logs, sidecar


def serialized(obj: Optional[Any]) -> str:
    from kubernetes.client import ApiClient

    return repr(ApiClient().sanitize_for_serialization(obj))

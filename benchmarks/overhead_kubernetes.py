"""The kubernetes variants of ``overhead.py``: IsolatedOperator's kubernetes backend beside the
cncf.kubernetes provider's two ways of running the same work in a pod of the same image.

The image is the one the backend itself would run: the environment's ``isolationctl env push``
reference in ``[isolation] image_registry`` (as ``KubernetesBackend`` resolves it), so all three
pull the same content-hash tag. The namespace is ``[isolation] kubernetes_namespace`` (else
``default``); the cluster is the kubernetes connection's (``KUBECONFIG`` by default).
"""

from __future__ import annotations

import importlib.util
from typing import Any, Callable, Dict, List, Optional, Tuple

KUBERNETES_KEYS = ("isolated_kubernetes", "kubernetes_pod_operator", "task_kubernetes")
XCOM_FILE = "/airflow/xcom/return.json"
"""Where the KPO's xcom sidecar reads a pod's return value (the provider mounts the folder)."""


def kubernetes_setup(environment: str) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """``(image, namespace, None)``, or ``(None, None, why the kubernetes variants cannot run)``."""
    if importlib.util.find_spec("airflow.providers.cncf.kubernetes") is None:
        return None, None, "apache-airflow-providers-cncf-kubernetes is not installed on this host"
    try:
        from airflow_isolation.operator.backends.kubernetes.backend import resolve_image
        from airflow_isolation.operator.backends.kubernetes.options import KubernetesOptions
        from airflow_isolation.operator.config import settings

        notes: List[str] = []
        image = resolve_image(environment, KubernetesOptions(), notes.append)
        if notes:
            return None, None, f"the image of {environment!r} is not pullable by a cluster ({notes[0]})"
        namespace = settings.kubernetes_settings().namespace or "default"
    except Exception as exc:
        return None, None, f"no pushed image of {environment!r} ({type(exc).__name__}: {exc})"
    try:
        from kubernetes import client, config

        config.load_kube_config()
        client.CoreV1Api().list_namespaced_pod(namespace, limit=1)
    except Exception as exc:
        return None, None, f"no Kubernetes cluster reachable ({type(exc).__name__}: {str(exc)[:200]})"
    return image, namespace, None


# The KubernetesPodOperator runs a command, not a function: the same work written as one, its value
# returned the way the KPO returns values (JSON in the xcom sidecar's file).
def _pod_script(kwargs: Dict[str, Any]) -> str:
    return f"import json; kwargs = {kwargs!r}; x = kwargs['x']; json.dump(x + 1, open({XCOM_FILE!r}, 'w'))"


def kubernetes_variants(
    variant: Callable[..., Any],
    task_args: Callable[[str, Any], Dict[str, Any]],
    *,
    environment: str,
    image: str,
    namespace: str,
    trivial: Callable[..., Any],
    trivial_kwargs: Dict[str, Any],
) -> List[Any]:
    """The three pod variants (``variant`` is ``overhead.Variant``); each deletes its pod."""
    from airflow.providers.cncf.kubernetes.decorators.kubernetes import kubernetes_task
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    from airflow_isolation.operator import IsolatedOperator

    def task_kubernetes(dag: Any) -> Any:
        factory = kubernetes_task(
            image=image, namespace=namespace, do_xcom_push=True, task_id="task_kubernetes"
        )
        with dag:
            return factory(trivial)(**trivial_kwargs).operator

    return [
        variant(
            "isolated_kubernetes",
            f"IsolatedOperator(python_callable, backend='kubernetes') on {environment!r}",
            lambda dag: IsolatedOperator(
                environment=environment, backend="kubernetes", **task_args("isolated_kubernetes", dag)
            ),
            isolated=True,
        ),
        variant(
            "kubernetes_pod_operator",
            "KubernetesPodOperator (python -c, do_xcom_push) on the same image",
            lambda dag: KubernetesPodOperator(
                task_id="kubernetes_pod_operator",
                dag=dag,
                image=image,
                namespace=namespace,
                cmds=["python", "-c", _pod_script(trivial_kwargs)],
                do_xcom_push=True,
            ),
        ),
        variant("task_kubernetes", "@task.kubernetes on the same image", task_kubernetes),
    ]

"""Deleting request Secrets that a dead worker left behind (``sweep_request_secrets``).

A run's request Secrets are created just before its pod, owned by the pod as soon as it exists (so
Kubernetes deletes them with it) and deleted by the run when it ends. One window is left: a worker
killed after creating them and before the pod owns them (or before the pod was created) leaves
Secrets holding the request, connection passwords included, that nothing would ever delete. Every
Kubernetes run therefore first deletes the request Secrets of its namespace that have no owner,
are older than a grace period (a run in that window on another worker is seconds old), and whose
pod does not exist. Operators can run the same sweep on demand::

    python -m airflow_isolation.operator.backends.kubernetes.sweep --namespace NS [--conn-id ID]

Only metadata is listed (a ``PartialObjectMetadataList``: the Secrets' data never leaves the API
server). It needs ``list`` on ``secrets`` in the namespace, besides the ``create``/``patch``/
``delete`` the backend already needs; without it the run logs a warning and goes on.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
from typing import Any, Callable, Dict, Iterable, List, Optional

from kubernetes.client.exceptions import ApiException

from airflow_isolation.operator.backends.kubernetes.request_secret import POD_ANNOTATION, SECRET_LABEL

GRACE = dt.timedelta(minutes=10)
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


@dataclasses.dataclass(frozen=True)
class RequestSecret:
    name: str
    pod: str
    created: dt.datetime
    owned: bool

    @classmethod
    def from_metadata(cls, metadata: Dict[str, Any]) -> RequestSecret:
        name = str(metadata["name"])
        pod = (metadata.get("annotations") or {}).get(POD_ANNOTATION) or name.rpartition("-request-")[0]
        created = dt.datetime.fromisoformat(str(metadata["creationTimestamp"]).replace("Z", "+00:00"))
        return cls(name, pod, created, bool(metadata.get("ownerReferences")))


def orphaned(
    secrets: Iterable[RequestSecret], pod_exists: Callable[[str], bool], now: dt.datetime, grace: dt.timedelta
) -> List[RequestSecret]:
    """The Secrets to delete: no owner, older than ``grace``, and their pod is gone (asked last, and
    once per pod, because it costs an API call)."""
    known: Dict[str, bool] = {}
    chosen = []
    for secret in secrets:
        if secret.owned or now - secret.created < grace:
            continue
        if secret.pod not in known:
            known[secret.pod] = bool(secret.pod) and pod_exists(secret.pod)
        if not known[secret.pod]:
            chosen.append(secret)
    return chosen


def list_request_secrets(client: Any, namespace: str) -> List[RequestSecret]:
    """The request Secrets of ``namespace``, metadata only, through ``client`` (a ``CoreV1Api``).

    The raw response is decoded here: how ``call_api`` names its response type changed across
    kubernetes client versions (``response_type``, then ``response_types_map``)."""
    response = client.api_client.call_api(
        "/api/v1/namespaces/{namespace}/secrets",
        "GET",
        path_params={"namespace": namespace},
        query_params=[("labelSelector", f"{SECRET_LABEL}=true")],
        header_params={"Accept": METADATA_ONLY},
        auth_settings=["BearerToken"],
        _return_http_data_only=True,
        _preload_content=False,
    )
    listing = json.loads(response.data)
    return [RequestSecret.from_metadata(item["metadata"]) for item in listing.get("items") or []]


def _pod_exists(client: Any, namespace: str) -> Callable[[str], bool]:
    def exists(pod: str) -> bool:
        try:
            client.read_namespaced_pod(pod, namespace)
        except ApiException as exc:
            return exc.status != 404  # unsure (forbidden, API trouble): keep the Secret
        return True

    return exists


def sweep_request_secrets(
    client: Any,
    namespace: str,
    *,
    grace: dt.timedelta = GRACE,
    now: Optional[dt.datetime] = None,
    report: Optional[Callable[[str], None]] = None,
) -> List[str]:
    """Delete orphaned request Secrets of ``namespace``; return their names."""
    say = report or print
    moment = now or dt.datetime.now(dt.timezone.utc)
    deleted = []
    for secret in orphaned(
        list_request_secrets(client, namespace), _pod_exists(client, namespace), moment, grace
    ):
        try:
            client.delete_namespaced_secret(secret.name, namespace)
        except ApiException as exc:
            if exc.status != 404:
                say(f"could not delete orphaned request Secret {namespace}/{secret.name}: {exc.reason}")
            continue
        deleted.append(secret.name)
        say(f"deleted orphaned request Secret {namespace}/{secret.name} (its pod {secret.pod} is gone)")
    return deleted


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_isolation.operator.backends.kubernetes.sweep",
        description="Delete airflow-isolation request Secrets whose pod is gone and that no pod owns.",
    )
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--conn-id", default="kubernetes_default", help="Airflow Kubernetes connection")
    parser.add_argument("--grace-minutes", type=float, default=GRACE.total_seconds() / 60)
    args = parser.parse_args(argv)
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    client = KubernetesHook(conn_id=args.conn_id).core_v1_client
    grace = dt.timedelta(minutes=args.grace_minutes)
    deleted = sweep_request_secrets(client, args.namespace, grace=grace)
    print(f"{len(deleted)} orphaned request Secret(s) deleted")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

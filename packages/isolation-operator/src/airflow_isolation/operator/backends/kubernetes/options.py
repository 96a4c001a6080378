"""``backend_options`` of the Kubernetes backend, validated when the DAG is parsed.

Names and meanings are the ``KubernetesPodOperator``'s, so a KPO user's settings carry over;
structured values (``affinity``, ``tolerations``) take the Kubernetes API's own (YAML/camelCase)
form, which is what the KPO accepts as dicts. This module imports no Kubernetes client: a DAG
processor without the cncf.kubernetes provider still reports a misspelt option at parse time.

What the backend owns is not an option: the command and arguments (the runtime), the xcom sidecar
(``do_xcom_push``, the result travels through it) and the request Secret. Settings a deployment sets
once (namespace, connection, registry, pull policy) come from Airflow configuration ``[isolation]``;
an option set here overrides them for one task.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Literal, Mapping, Optional, Type

import msgspec

from airflow_isolation.operator.backends.options import check_env_name, convert

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_AFFINITY_KEYS = frozenset({"nodeAffinity", "podAffinity", "podAntiAffinity"})
_RESOURCE_NAMES = re.compile(r"^([a-z0-9.-]+/)?[a-z0-9-]+$")


class ResourcesOption(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``container_resources``: ``{"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {...}}``."""

    requests: Dict[str, str] = {}
    limits: Dict[str, str] = {}

    def __post_init__(self) -> None:
        for kind, values in (("requests", self.requests), ("limits", self.limits)):
            for name, quantity in values.items():
                if not _RESOURCE_NAMES.match(name):
                    raise ValueError(f"container_resources.{kind}: {name!r} is not a resource name")
                if not _QUANTITY.match(quantity):
                    raise ValueError(
                        f"container_resources.{kind}.{name}={quantity!r} is not a Kubernetes quantity "
                        "(e.g. '500m' CPU, '1Gi' memory)"
                    )


class TolerationOption(msgspec.Struct, forbid_unknown_fields=True, frozen=True, rename="camel"):
    """One entry of ``tolerations``, in the Kubernetes API's form
    (``{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}``)."""

    key: Optional[str] = None
    operator: Literal["Exists", "Equal", None] = None
    value: Optional[str] = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute", None] = None
    toleration_seconds: Optional[int] = None


OnFinishAction = Literal["delete_pod", "delete_succeeded_pod", "delete_active_pod", "keep_pod"]
PullPolicy = Literal["Always", "IfNotPresent", "Never"]


class KubernetesOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """What a task may set in ``backend_options`` for ``backend="kubernetes"``.

    :param image: run this image instead of the environment's built (and pushed) image.
    :param namespace: default ``[isolation] kubernetes_namespace``, else the connection's namespace.
    :param kubernetes_conn_id: default ``[isolation] kubernetes_conn_id``, else ``kubernetes_default``.
    :param image_pull_policy: default ``[isolation] image_pull_policy``, else Kubernetes' default.
    :param image_pull_secrets: names of Secrets holding registry credentials.
    :param deferrable: wait for the pod in the triggerer instead of holding a worker slot.
    :param on_finish_action: ``delete_pod`` (default), ``delete_succeeded_pod``, ``keep_pod``…
    :param reattach_on_restart: a retried worker adopts the running pod of the same try.
    :param get_logs: stream the pod's output into the task log.
    :param container_resources: ``{"requests": {...}, "limits": {...}}`` of the task's container.
    :param node_selector, tolerations, affinity, service_account_name, pod_template_file, labels,
        annotations: as in ``KubernetesPodOperator``.
    :param skip_on_exit_code: extra exit codes that mean "skipped" (the runtime's skip code always does).
    :param env: extra non-secret environment variables of the task's container.
    :param startup_timeout_seconds: how long the pod may stay pending.
    :param automount_service_account_token: mount the service account's API token into the pod
        (default ``False``: the task reaches the cluster only through connections it is sent).
    :param security_context: the pod's ``securityContext``, e.g. ``{"runAsNonRoot": True,
        "runAsUser": 1000}``.
    :param container_security_context: keys of the task container's ``securityContext`` over the
        hardened one (``kubernetes.hardening``: no privilege escalation, no capabilities,
        ``RuntimeDefault`` seccomp), e.g. ``{"capabilities": {"add": ["NET_BIND_SERVICE"], "drop":
        ["ALL"]}}``.
    """

    image: Optional[str] = None
    namespace: Optional[str] = None
    kubernetes_conn_id: Optional[str] = None
    image_pull_policy: Optional[PullPolicy] = None
    image_pull_secrets: List[str] = []
    deferrable: bool = False
    on_finish_action: OnFinishAction = "delete_pod"
    reattach_on_restart: bool = True
    get_logs: bool = True
    container_resources: Optional[ResourcesOption] = None
    node_selector: Dict[str, str] = {}
    tolerations: List[TolerationOption] = []
    affinity: Dict[str, Any] = {}
    service_account_name: Optional[str] = None
    pod_template_file: Optional[str] = None
    labels: Dict[str, str] = {}
    annotations: Dict[str, str] = {}
    skip_on_exit_code: List[int] = []
    env: Dict[str, str] = {}
    startup_timeout_seconds: int = 120
    automount_service_account_token: bool = False
    security_context: Dict[str, Any] = {}
    container_security_context: Dict[str, Any] = {}

    def __post_init__(self) -> None:
        if self.image is not None and not self.image.strip():
            raise ValueError("image must be an image reference like 'registry:5000/name:tag'")
        unknown = set(self.affinity) - _AFFINITY_KEYS
        if unknown:
            raise ValueError(
                f"affinity takes {', '.join(sorted(_AFFINITY_KEYS))} (the Kubernetes API's form), "
                f"not {', '.join(sorted(unknown))}"
            )
        if self.startup_timeout_seconds <= 0:
            raise ValueError("startup_timeout_seconds must be positive")
        for name in self.env:
            check_env_name(name, "the pod spec, readable by anyone who can `kubectl get pod`")
        for option, given in (
            ("security_context", self.security_context),
            ("container_security_context", self.container_security_context),
        ):
            snake = sorted(key for key in given if "_" in key)
            if snake:
                raise ValueError(
                    f"{option} takes the Kubernetes API's camelCase keys (e.g. 'runAsNonRoot'), "
                    f"not {', '.join(snake)}"
                )
        if self.container_security_context.get("privileged"):
            raise ValueError(
                "container_security_context privileged=True gives the task every device and "
                "capability of the node: an isolated task does not get it; name the capabilities "
                "it needs in capabilities.add instead"
            )


def parse_kubernetes_options(options: Mapping[str, Any]) -> KubernetesOptions:
    nested: Dict[str, Type[msgspec.Struct]] = {
        "tolerations": TolerationOption,
        "container_resources": ResourcesOption,
    }
    return convert(options, KubernetesOptions, "option(s)", nested=nested)

"""A ``KubernetesPodOperator`` that carries an isolation request in and an isolation result out.

It is built inside ``IsolatedOperator.execute`` (never part of a DAG), so everything a KPO user relies
on — deferrable mode, ``on_finish_action``, reattach, log streaming, the xcom sidecar, callbacks,
``pod_template_file`` — is the provider's own code. Narrow overrides add what is ours:

* ``build_pod_request_obj`` mounts the per-run request Secrets (the spec names them, never their data)
  and shares the pod's process namespace (unless the template decides), so the runtime is not PID 1:
  the kernel ignores signals a PID 1 has no handler for, so a task's ``SIGKILL`` of itself did
  nothing and the kubelet's ``SIGTERM`` waited out the whole grace period;
* ``get_or_create_pod`` sweeps the request Secrets dead workers left (``kubernetes.sweep``), creates
  this run's just before the pod and makes the pod their owner, or drops them when the KPO
  reattaches to the pod of an earlier attempt (which has its own);
* ``extract_xcom`` keeps the sidecar's JSON for the backend instead of handing it to the KPO, which
  would otherwise push our result envelope as ``return_value`` (it does so even when the pod fails).
  The KPO still raises for a failed or skipped pod; the backend reads the kept result first, so the
  task fails with the target's own traceback.

``post_complete_action`` (every ending, sync or deferred) deletes the Secrets and keeps the pod's
last state (``ended_pod``), whose container status says how a run without a result ended;
``on_kill`` deletes them too. ``trigger_reentry`` after the trigger's ``execution_timeout`` deadline
reads the still-running pod's log so far instead of following it to the pod's end.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.utils.pod_manager import EMPTY_XCOM_RESULT
from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException

from airflow_isolation.operator.backends.kubernetes import request_secret
from airflow_isolation.operator.backends.kubernetes.sweep import GRACE, sweep_request_secrets
from airflow_isolation.operator.config import settings


class IsolationPodOperator(KubernetesPodOperator):  # type: ignore[misc]
    def __init__(self, *, request: bytes = b"", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._request = request
        self.request_secrets: List[k8s.V1Secret] = []
        self.result_json: Optional[bytes] = None
        self.ended_pod: Optional[k8s.V1Pod] = None

    @property
    def killed(self) -> bool:
        return bool(getattr(self, "_killed", False))

    def build_pod_request_obj(self, context: Any = None, *, dry_run: bool = False) -> k8s.V1Pod:
        pod = super().build_pod_request_obj(context, dry_run=dry_run)
        self.request_secrets = request_secret.request_secrets(
            pod.metadata.name, pod.metadata.namespace, self._request
        )
        if pod.spec.share_process_namespace is None:
            pod.spec.share_process_namespace = True
        return request_secret.attach(pod, self.request_secrets, self.base_container_name)

    def get_or_create_pod(self, pod_request_obj: k8s.V1Pod, context: Any) -> k8s.V1Pod:
        if not self.request_secrets:
            raise RuntimeError("build_pod_request_obj must run before get_or_create_pod")
        namespace = pod_request_obj.metadata.namespace
        names = [secret.metadata.name for secret in self.request_secrets]
        self._sweep(namespace)
        try:
            for secret in self.request_secrets:
                self.client.create_namespaced_secret(namespace=namespace, body=secret)
            pod = super().get_or_create_pod(pod_request_obj, context)
        except BaseException:
            self._delete_secrets(namespace, names)
            raise
        if pod.metadata.name != pod_request_obj.metadata.name:
            self.log.info("Reattached to pod %s, which mounts its own request", pod.metadata.name)
            self._delete_secrets(namespace, names)
            return pod
        self._own_secret(pod_request_obj)
        return pod

    def _sweep(self, namespace: str) -> None:
        """Never fails the run: the sweep is housekeeping for other, dead runs."""
        try:
            grace = settings.kubernetes_settings().sweep_grace_seconds
            sweep_request_secrets(
                self.client,
                namespace,
                grace=GRACE if grace is None else dt.timedelta(seconds=grace),
                report=self.log.info,
            )
        except Exception as exc:
            reason = getattr(exc, "reason", None) or exc
            self.log.warning(
                "Could not sweep orphaned request Secrets in namespace %s (%s): grant this worker `list` "
                "on secrets there, or run `python -m airflow_isolation.operator.backends.kubernetes.sweep "
                "--namespace %s` where that is allowed",
                namespace,
                reason,
                namespace,
            )

    def _own_secret(self, pod: k8s.V1Pod) -> None:
        """Let Kubernetes delete the Secrets with the pod, should this worker die before it does."""
        names = request_secret.secret_names_of(pod)
        try:
            created = self.client.read_namespaced_pod(pod.metadata.name, pod.metadata.namespace)
            body = {"metadata": {"ownerReferences": request_secret.owner_references(created)}}
            for name in names:
                self.client.patch_namespaced_secret(name, pod.metadata.namespace, body)
        except ApiException as exc:
            self.log.warning(
                "Could not make pod %s the owner of Secrets %s: %s", pod.metadata.name, names, exc.reason
            )

    def trigger_reentry(self, context: Any, event: Dict[str, Any]) -> Any:
        if event.get("status") == "timeout" and self.logging_interval is None:
            # The pod still runs: print its log so far rather than follow it until the pod ends.
            self.logging_interval = 0
        return super().trigger_reentry(context, event)

    def extract_xcom(self, pod: k8s.V1Pod, *, ignore_kill_failure: bool = True) -> None:
        raw = self.pod_manager.extract_xcom(pod, ignore_kill_failure=ignore_kill_failure)
        if isinstance(raw, str) and raw.rstrip() != EMPTY_XCOM_RESULT:
            self.result_json = raw.encode("utf-8")

    def post_complete_action(
        self, *, pod: k8s.V1Pod, remote_pod: Any, context: Any, result: Any, **kwargs: Any
    ) -> None:
        self.ended_pod = remote_pod
        try:
            super().post_complete_action(
                pod=pod, remote_pod=remote_pod, context=context, result=result, **kwargs
            )
        finally:
            names = request_secret.secret_names_of(pod)
            if names and pod.metadata is not None and pod.metadata.namespace:
                self._delete_secrets(pod.metadata.namespace, names)

    def on_kill(self) -> None:
        pod = self.pod or self.pod_request_obj
        if self.pod is not None and not self._pod_exists(self.pod):
            self.pod = None  # already deleted by the KPO's cleanup: nothing for its on_kill to delete
        try:
            super().on_kill()
        finally:
            names = request_secret.secret_names_of(pod) if pod is not None else []
            if names and pod is not None:
                self._delete_secrets(pod.metadata.namespace, names)

    def _pod_exists(self, pod: k8s.V1Pod) -> bool:
        try:
            self.client.read_namespaced_pod(pod.metadata.name, pod.metadata.namespace)
        except ApiException as exc:
            return exc.status != 404
        except Exception:
            return True  # unsure: let the KPO try to delete it
        return True

    def _delete_secrets(self, namespace: str, names: List[str]) -> None:
        for name in names:
            self._delete_secret(namespace, name)

    def _delete_secret(self, namespace: str, name: str) -> None:
        try:
            self.client.delete_namespaced_secret(name, namespace)
        except ApiException as exc:
            if exc.status != 404:
                self.log.warning(
                    "Could not delete the request Secret %s/%s (%s); it is owned by its pod and goes "
                    "when the pod is deleted",
                    namespace,
                    name,
                    exc.reason,
                )
        except Exception as exc:  # never hide the run's own outcome
            self.log.warning("Could not delete the request Secret %s/%s: %s", namespace, name, exc)

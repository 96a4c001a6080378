"""Running the target as a pod, through the cncf.kubernetes provider's ``KubernetesPodOperator``.

Composition rather than subclassing ``IsolatedOperator`` from the KPO: the wrapper keeps one set of
parameters and template fields for every backend, and the KPO's own ~80 parameters, template
fields and ``execute`` contract stay out of the DAG author's way. The KPO (``IsolationPodOperator``)
is built per run from ``backend_options`` and ``[isolation]`` settings; the command is fixed (the
runtime reads the mounted request and writes msgspec-JSON to the xcom sidecar's file).

Deferral: the KPO defers with ``method_name="trigger_reentry"`` on itself; ``IsolatedOperator``
re-raises that deferral under its own resume method and calls ``resume`` here, which rebuilds the
same KPO and hands it the trigger's event. The KPO's method name travels in the deferral's kwargs,
which ``airflow dags test`` replaces by the event alone, so a missing name means ``trigger_reentry``,
the only method the KPO defers to.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from airflow.providers.cncf.kubernetes.utils.xcom_sidecar import PodDefaults
from kubernetes.client import models as k8s

from airflow_isolation.core import launch
from airflow_isolation.operator import airflow_compat as compat
from airflow_isolation.operator import environments
from airflow_isolation.operator.backends import ownership
from airflow_isolation.operator.backends.base import BackendJob, IsolationBackend, LogSink, TargetExit
from airflow_isolation.operator.backends.kubernetes import hardening, request_secret
from airflow_isolation.operator.backends.kubernetes.image import choose_image
from airflow_isolation.operator.backends.kubernetes.options import KubernetesOptions
from airflow_isolation.operator.backends.kubernetes.pod import IsolationPodOperator
from airflow_isolation.operator.backends.kubernetes.pod_exit import container_exit
from airflow_isolation.operator.config import settings

RESUME_METHOD = "trigger_reentry"
RESULT_FILE = f"{PodDefaults.XCOM_MOUNT_PATH}/return.json"
COMMAND = launch.runtime_entry(launch.IMAGE_PYTHON)
ARGUMENTS = launch.runtime_arguments(request_secret.REQUEST_FILE, RESULT_FILE, "json")


class KubernetesBackendError(compat.AirflowException):  # type: ignore[misc]
    """The pod could not be run (API refused it, never started…) and left no result."""


def resolve_image(environment: str, options: KubernetesOptions, log: LogSink) -> str:
    if options.image:
        return options.image
    reference, warning = choose_image(
        environments.resolve_image(environment), settings.kubernetes_settings().image_registry
    )
    if warning:
        log(f"WARNING: {warning}")
    return reference


def _resources(options: KubernetesOptions) -> Optional[k8s.V1ResourceRequirements]:
    if options.container_resources is None:
        return None
    return k8s.V1ResourceRequirements(
        requests=dict(options.container_resources.requests) or None,
        limits=dict(options.container_resources.limits) or None,
    )


def pod_operator(job: BackendJob, request: bytes, image: str) -> IsolationPodOperator:
    """The KPO of one run. Parameters not set here keep the provider's defaults."""
    options = _options(job)
    configured = settings.kubernetes_settings()
    skip_codes: List[int] = sorted({launch.EXIT_SKIPPED, *options.skip_on_exit_code})
    env: Dict[str, str] = {
        **launch.venv_environment(launch.IMAGE_VENV, launch.IMAGE_AIRFLOW_HOME),
        **options.env,
        **launch.request_environment(request),
    }
    conn_id = options.kubernetes_conn_id or configured.conn_id
    extra: Dict[str, Any] = {"kubernetes_conn_id": conn_id} if conn_id else {}
    return IsolationPodOperator(
        request=request,
        task_id=job.identity.task_id,
        image=image,
        cmds=list(COMMAND),
        arguments=list(ARGUMENTS),
        env_vars=env,
        namespace=options.namespace or configured.namespace,
        image_pull_policy=options.image_pull_policy or configured.image_pull_policy,
        image_pull_secrets=[k8s.V1LocalObjectReference(name=n) for n in options.image_pull_secrets],
        do_xcom_push=True,
        deferrable=options.deferrable,
        on_finish_action=options.on_finish_action,
        reattach_on_restart=options.reattach_on_restart,
        get_logs=options.get_logs,
        container_resources=_resources(options),
        node_selector=dict(options.node_selector),
        tolerations=[{k: v for k, v in _api_form(t).items() if v is not None} for t in options.tolerations],
        affinity=dict(options.affinity) or None,
        service_account_name=options.service_account_name,
        pod_template_file=options.pod_template_file,
        labels={
            **options.labels,
            ownership.reverse_dns_key(ownership.MANAGED): "true",
            ownership.kubernetes_key(ownership.ENVIRONMENT): job.environment,
        },
        annotations=dict(options.annotations),
        skip_on_exit_code=skip_codes,
        startup_timeout_seconds=options.startup_timeout_seconds,
        execution_timeout=_execution_timeout(job.context),
        automount_service_account_token=options.automount_service_account_token,
        security_context=hardening.pod_security_context(options.security_context),
        container_security_context=hardening.container_security_context(options.container_security_context),
        xcom_sidecar_container_security_context=hardening.sidecar_security_context(),
        **extra,
    )


def _execution_timeout(context: Any) -> Any:
    """The wrapping task's ``execution_timeout``: a deferred KPO hands it to its trigger as a deadline
    (the task runner enforces it only while ``execute`` runs, not while the task is deferred)."""
    task = context.get("task") if hasattr(context, "get") else None
    return getattr(task, "execution_timeout", None)


def _api_form(toleration: Any) -> Dict[str, Any]:
    import msgspec

    return dict(msgspec.to_builtins(toleration))


def _timeout(exc: BaseException) -> Optional[BaseException]:
    """The ``execution_timeout`` Airflow raised inside the KPO, which the KPO's own cleanup then
    hides behind "Pod ... returned a failure" (raised in its ``finally``)."""
    seen: Optional[BaseException] = exc
    while seen is not None:
        if type(seen).__name__ == "AirflowTaskTimeout":
            return seen
        seen = seen.__context__
    return None


class KubernetesBackend(IsolationBackend):
    name = "kubernetes"

    def __init__(self) -> None:
        self._operator: Optional[IsolationPodOperator] = None

    def run(self, request: bytes, job: BackendJob, log: LogSink) -> TargetExit:
        options = _options(job)
        image = resolve_image(job.environment, options, log)
        kpo = self._operator = pod_operator(job, request, image)
        return self._finish(kpo, options, f"kubernetes pod of {image}", lambda: kpo.execute(job.context))

    def resume(self, method: str, event: Any, job: BackendJob, log: LogSink) -> TargetExit:
        kpo = self._operator = pod_operator(job, b"", "(resumed)")
        where = f"kubernetes pod {event.get('namespace')}/{event.get('name')}"
        resume = getattr(kpo, method or RESUME_METHOD)
        deadline_passed = isinstance(event, dict) and event.get("status") == "timeout"
        return self._finish(
            kpo, _options(job), where, lambda: resume(job.context, event), deadline_passed=deadline_passed
        )

    @staticmethod
    def _finish(
        kpo: IsolationPodOperator,
        options: KubernetesOptions,
        where: str,
        step: Any,
        *,
        deadline_passed: bool = False,
    ) -> TargetExit:
        """Run ``step``; whatever the KPO raised, a result from the target decides the outcome.
        A timeout (Airflow's in ``execute``, the trigger's deadline when deferred) stops the pod
        whatever ``on_finish_action`` says: it is still running."""
        try:
            step()
        except compat.TaskDeferred:
            raise
        except Exception as exc:
            timeout = _timeout(exc)
            if timeout is not None or deadline_passed:
                kpo.on_kill()
                message = (
                    f"the isolated task ({where}) timed out (execution_timeout) while its pod ran; the "
                    "pod and its request Secret were deleted"
                )
                raise (type(timeout) if timeout else KubernetesBackendError)(message) from exc
            if kpo.result_json is not None:
                return TargetExit(kpo.result_json, 1, [], where, result_format="json")
            if kpo.killed:
                raise KubernetesBackendError(
                    f"the isolated task ({where}) was stopped (on_kill); its pod and request Secret "
                    "were deleted"
                ) from exc
            ended = container_exit(kpo.ended_pod, kpo.base_container_name, options)
            if ended is None:
                raise KubernetesBackendError(
                    f"the isolated task ({where}) ended without a result: {exc}"
                ) from exc
            return TargetExit(None, ended.exit_code, [], where, ended.detail, "json")
        except BaseException:  # interrupted (timeout, SIGTERM's exception) outside the KPO's cleanup
            kpo.on_kill()
            raise
        if kpo.result_json is None:
            return TargetExit(None, 0, [], where, "left no result in the xcom sidecar", "json")
        return TargetExit(kpo.result_json, 0, [], where, result_format="json")

    def kill(self) -> None:
        if self._operator is not None:
            self._operator.on_kill()


def _options(job: BackendJob) -> KubernetesOptions:
    return job.options if job.options is not None else KubernetesOptions()

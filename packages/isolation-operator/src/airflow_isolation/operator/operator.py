"""``IsolatedOperator``: any Airflow operator, or a plain callable, run in an isolated environment.

Templated arguments of the wrapped operator are gathered in ``templated_kwargs``, one of this
operator's own template fields, so Airflow renders them on the host in its normal flow (DAG
template env, ``template_searchpath``, user macros, template files by the wrapped operator's
``template_ext``) and shows the rendered values in the UI. The target receives rendered values and
never renders again.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Collection, Dict, Mapping, NoReturn, Optional, Sequence, Tuple, Union

import msgspec

from airflow_isolation.core import CallableSpec, IsolationResult, OperatorSpec
from airflow_isolation.core.schema import TaskContext, TaskSpec
from airflow_isolation.operator import airflow_compat, environments
from airflow_isolation.operator.backends import (
    BackendJob,
    IsolationBackend,
    TaskIdentity,
    get_backend,
    opens_channel,
    parse_backend_options,
)
from airflow_isolation.operator.channel import HostChannel, host_can_answer
from airflow_isolation.operator.config import settings
from airflow_isolation.operator.exchange import runtime_schema
from airflow_isolation.operator.exchange.request_builder import (
    build_request,
    encode_request,
    implied_conn_ids,
    resolve_connections,
    resolve_variables,
    task_context,
)
from airflow_isolation.operator.exchange.result_handler import apply_result, read_result
from airflow_isolation.operator.facets import HostTask, needed_facets
from airflow_isolation.operator.facets.dag_run_trigger import refuse_on_an_airflow_2_host
from airflow_isolation.operator.facets.host_channel import refuse_without_channel
from airflow_isolation.operator.facets.openlineage import OpenLineageMethods
from airflow_isolation.operator.parse import write_back_kinds
from airflow_isolation.operator.parse.arguments import check_call_arguments, names, split_base_kwargs
from airflow_isolation.operator.parse.sensor_traits import (
    SERIALIZED_FIELDS,
    is_sensor,
    mark_as_sensor,
    sensor_arguments,
)
from airflow_isolation.operator.parse.wrapped import WrappedOperator, check_encodable
from airflow_isolation.operator.shipping.callable_source import callable_spec
from airflow_isolation.workspace.environment import validate_name

OWN_RESUME_METHODS = frozenset({"resume_isolated", "__fail__"})
"""Methods the host's Airflow resumes this operator itself with; any other is the wrapped one's."""


class IsolatedOperator(airflow_compat.BaseOperator, airflow_compat.BranchMixIn, OpenLineageMethods):  # type: ignore[misc]
    """Run ``operator`` (or ``python_callable``) in the isolated ``environment``.

    :param operator: the operator class or its dotted path. Omit it to run ``python_callable``
        as a plain function, which needs no Airflow in the target.
    :param environment: name of an environment under ``[isolation] environments_path``.
    :param backend: ``"venv"`` runs the environment's virtualenv on the worker, ``"docker"`` a
        container of its image, ``"kubernetes"`` a pod of its (pushed) image through the
        ``KubernetesPodOperator``. Default: Airflow configuration ``[isolation] default_backend``, else
        ``default_backend`` of the ``isolation.toml`` named by ``AIRFLOW__ISOLATION__SETTINGS_FILE``,
        else ``"venv"``.
    :param backend_options: settings of the backend, checked when the DAG is parsed. ``docker``:
        ``image``, ``docker_url``, ``pull`` (``"missing"``/``"always"``/``"never"``), ``cpus``,
        ``mem_limit``, ``shm_size``, ``network_mode``, ``mounts``, ``env`` (not secrets), ``user``,
        ``extra_hosts``, ``privileged`` (see ``backends.docker.options.DockerOptions``).
        ``kubernetes``: the KPO's ``namespace``, ``kubernetes_conn_id``, ``image``,
        ``deferrable``, ``on_finish_action``, ``reattach_on_restart``, ``get_logs``,
        ``container_resources``, ``node_selector``, ``tolerations``, ``affinity``,
        ``service_account_name``, ``pod_template_file``, ``labels``, ``annotations``,
        ``image_pull_policy``, ``image_pull_secrets``, ``skip_on_exit_code``, ``env``,
        ``startup_timeout_seconds`` (see ``backends.kubernetes.options.KubernetesOptions``). ``venv``:
        ``memory_limit`` (the target's address space, see ``backends.venv.options.VenvOptions``).
    :param connections: connection ids to ship, besides the ``*conn_id`` arguments of the operator.
    :param variables: variable keys to ship.
    :param write_back: what the task may hand back to the host: ``"xcom"`` replays its
        ``ti.xcom_push`` calls (the default; also when it fails, as Airflow keeps them),
        ``"variables"`` applies its ``Variable.set`` calls after it succeeds (off by default: without
        it ``Variable.set`` fails naming this option).
    :param operator_kwargs: arguments of the wrapped operator as one dict (mappable with
        ``.expand(operator_kwargs=[...])``); other unknown keyword arguments are merged into it.
    :param operator_template_fields: template fields of an operator that is not importable on the host.
    :param operator_template_ext: template file extensions of such an operator.
    """

    template_fields: Sequence[str] = ("templated_kwargs", "op_args", "op_kwargs")
    template_fields_renderers = {"templated_kwargs": "py", "op_kwargs": "py", "op_args": "py"}
    ui_color = "#d9f2e6"

    def __init__(
        self,
        *,
        environment: str,
        operator: Union[str, type, None] = None,
        backend: Optional[str] = None,
        backend_options: Optional[Mapping[str, Any]] = None,
        connections: Collection[str] = (),
        variables: Collection[str] = (),
        write_back: Collection[str] = write_back_kinds.DEFAULT,
        operator_kwargs: Optional[Dict[str, Any]] = None,
        python_callable: Union[Callable[..., Any], str, None] = None,
        op_args: Optional[Collection[Any]] = None,
        op_kwargs: Optional[Dict[str, Any]] = None,
        operator_template_fields: Optional[Sequence[str]] = None,
        operator_template_ext: Optional[Sequence[str]] = None,
        **kwargs: Any,
    ) -> None:
        base_kwargs, extra_kwargs = split_base_kwargs(kwargs)
        super().__init__(**base_kwargs)
        if not isinstance(environment, str):
            raise TypeError(
                f"IsolatedOperator {self.task_id!r}: environment must be a name, got {environment!r}"
            )
        self.backend = backend if backend is not None else settings.default_backend()
        self._backend_options = parse_backend_options(
            self.backend, backend_options, f"IsolatedOperator {self.task_id!r}"
        )
        self.backend_options = dict(backend_options or {})
        if getattr(self._backend_options, "image", None):
            validate_name(environment)  # an explicit image needs no definition; the name labels it
        else:
            environments.check_defined(environment)
        self.environment = environment
        self.connections = names(connections, "connections", self.task_id)
        self.variables = names(variables, "variables", self.task_id)
        self.write_back = write_back_kinds.parse(write_back, f"IsolatedOperator {self.task_id!r}")
        self._backend: Optional[IsolationBackend] = None
        self._resume_wrapped: Optional[Tuple[str, Dict[str, Any]]] = None
        self._wrapped: Optional[WrappedOperator] = None
        self.operator_class_path: Optional[str] = None
        self.templated_kwargs: Dict[str, Any] = {}
        self.static_kwargs: Dict[str, Any] = {}
        if operator is None:
            self._init_callable(
                python_callable, op_args, op_kwargs, {**(operator_kwargs or {}), **extra_kwargs}
            )
        else:
            inner = {**(operator_kwargs or {}), **extra_kwargs}
            for name, value in (
                ("python_callable", python_callable),
                ("op_args", op_args),
                ("op_kwargs", op_kwargs),
            ):
                if value is not None:
                    inner[name] = value
            self._init_operator(operator, inner, operator_template_fields, operator_template_ext)

    def _init_callable(
        self,
        python_callable: Union[Callable[..., Any], str, None],
        op_args: Optional[Collection[Any]],
        op_kwargs: Optional[Dict[str, Any]],
        unexpected: Dict[str, Any],
    ) -> None:
        if python_callable is None:
            raise TypeError(
                f"IsolatedOperator {self.task_id!r}: pass operator=<class or dotted path> to wrap an "
                "operator, or python_callable=<function> to run a function"
            )
        if unexpected:
            raise TypeError(
                f"IsolatedOperator {self.task_id!r}: unexpected keyword argument(s) "
                f"{', '.join(map(repr, sorted(unexpected)))} (without operator=..., only python_callable, "
                "op_args and op_kwargs describe the task)"
            )
        check_call_arguments(op_args, op_kwargs, self.task_id)
        self.python_callable = python_callable
        self._callable_spec = callable_spec(python_callable)  # type: ignore[arg-type]
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        check_encodable({"op_args": self.op_args, "op_kwargs": self.op_kwargs}, self.task_id)

    def _init_operator(
        self,
        operator: Union[str, type],
        inner: Dict[str, Any],
        template_fields: Optional[Sequence[str]],
        template_ext: Optional[Sequence[str]],
    ) -> None:
        wrapped = WrappedOperator(operator, self.task_id, template_fields, template_ext)
        refuse_on_an_airflow_2_host(wrapped.operator_class, self.task_id)
        refuse_without_channel(wrapped.operator_class, self.backend, self.task_id)
        wrapped.check_kwargs(inner)
        check_encodable(inner, self.task_id)
        self._wrapped = wrapped
        self.operator_class_path = wrapped.class_path
        self.template_ext = wrapped.template_ext
        self.templated_kwargs = {k: v for k, v in inner.items() if k in wrapped.template_fields}
        self.static_kwargs = {k: v for k, v in inner.items() if k not in wrapped.template_fields}
        self.op_args = []
        self.op_kwargs = {}
        if is_sensor(wrapped.operator_class, inner):
            mark_as_sensor(self, sensor_arguments(wrapped.operator_class, inner))

    @property
    def reschedule(self) -> Optional[bool]:
        """Whether the scheduler reschedules this task as a sensor in ``mode="reschedule"``; None
        when the wrapped operator is no sensor, which a serialized DAG leaves out, as for any
        operator that is no sensor."""
        mode = getattr(self, "mode", None)
        return None if mode is None else mode == "reschedule"

    @classmethod
    def get_serialized_fields(cls) -> Any:
        return super().get_serialized_fields() | SERIALIZED_FIELDS

    def _task_spec(self) -> TaskSpec:
        if self._wrapped is None:
            return msgspec.structs.replace(
                self._callable_spec, args=list(self.op_args), kwargs=dict(self.op_kwargs)
            )
        return OperatorSpec(
            class_path=self._wrapped.class_path,
            kwargs={**self.static_kwargs, **self.templated_kwargs},
        )

    def _conn_ids(self, task: TaskSpec) -> list[str]:
        if isinstance(task, CallableSpec):
            return []
        return implied_conn_ids(self._wrapped.operator_class if self._wrapped else None, task.kwargs)

    def host_task(self, context: Any, spec: TaskSpec) -> HostTask:
        """What the facets read of this try (``facets/base.py``)."""
        own = self._wrapped.dag_file_module if self._wrapped is not None else None
        return HostTask(
            context=context,
            spec=spec,
            upstream_ids=frozenset(self.upstream_task_ids),
            wrapped_class=self._wrapped.operator_class if self._wrapped is not None else None,
            class_path=self.operator_class_path,
            write_back=self.write_back,
            sensor=bool(getattr(self, "_is_sensor", False)),
            reschedule=bool(self.reschedule),
            retries=self.retries,
            own_modules=[own] if own is not None else [],
            resume_wrapped=self._resume_wrapped,
        )

    def execute(self, context: Any) -> Any:
        return self._run_isolated(context)

    def resume_execution(self, next_method: str, next_kwargs: Optional[Dict[str, Any]], context: Any) -> Any:
        """Where the host's Airflow resumes the task. ``resume_isolated`` (a backend's deferral) and
        ``__fail__`` are this operator's; any other method is the wrapped operator's, after a deferral
        the host's task runner made on its behalf (``TriggerDagRunOperator``'s wait), and it runs in
        the target (``facets/resumption.py``)."""
        if self._wrapped is None or next_method in OWN_RESUME_METHODS:
            return super().resume_execution(next_method, next_kwargs, context)
        self._resume_wrapped = (next_method, dict(next_kwargs or {}))
        try:
            return self._run_isolated(context)
        finally:
            self._resume_wrapped = None

    def _run_isolated(self, context: Any) -> Any:
        spec = self._task_spec()
        backend = get_backend(self.backend)
        channel = (
            HostChannel(self._log_target_line) if opens_channel(self.backend) and host_can_answer() else None
        )
        task = dataclasses.replace(self.host_task(context, spec), channel_offered=channel is not None)
        connections = resolve_connections(self.connections, self._conn_ids(spec))
        request = build_request(task, connections, resolve_variables(self.variables))
        needed = needed_facets(task, request)
        runtime_schema.refuse_before_run(self.environment, self.backend, self._backend_options, needed)
        payload = encode_request(request)
        self._backend = backend
        self.log.info(
            "Running %s in environment %r (%s backend), request %d bytes",
            self.operator_class_path or f"callable {self._callable_spec.name}",
            self.environment,
            self.backend,
            len(payload),
        )
        try:
            job = dataclasses.replace(self._job(context, request.context), channel=channel)
            ended = self._backend.run(payload, job, self._log_target_line)
        except airflow_compat.TaskDeferred as deferred:
            self._defer_backend(deferred, needed)
        finally:
            self._backend = None
            if channel is not None:
                channel.close()
        return self._apply(context, read_result(ended), needed)

    def _apply(self, context: Any, result: IsolationResult, needed: Tuple[str, ...] = ()) -> Any:
        runtime_schema.refuse_result(self.environment, self.backend, result, needed)
        return apply_result(self, context, result)

    def _job(self, context: Any, task: TaskContext) -> BackendJob:
        return BackendJob(self.environment, TaskIdentity.of(task), self._backend_options, context)

    def _defer_backend(self, deferred: Any, needed: Sequence[str]) -> NoReturn:
        """A backend (the KubernetesPodOperator) deferred to the triggerer: come back to this
        operator, which hands the event to the backend's own method named in the deferral, and
        judges the result by the facets the task needed when it was sent."""
        raise airflow_compat.TaskDeferred(
            trigger=deferred.trigger,
            method_name="resume_isolated",
            kwargs={
                **(deferred.kwargs or {}),
                "backend_method": deferred.method_name,
                "needed_facets": list(needed),
            },
            timeout=deferred.timeout,
        )

    def resume_isolated(
        self,
        context: Any,
        event: Any = None,
        backend_method: str = "",
        needed_facets: Sequence[str] = (),
        **kwargs: Any,
    ) -> Any:
        """Where a deferred run resumes (``backend_options={"deferrable": True}``). ``backend_method``
        (and ``needed_facets``) are missing under ``airflow dags test``, which resumes with the
        trigger's event as the only keyword argument; the backend then resumes with its default
        method."""
        needed = tuple(needed_facets)
        self._backend = get_backend(self.backend)
        try:
            job = self._job(context, task_context(HostTask(context)))
            ended = self._backend.resume(backend_method, event, job, self._log_target_line)
        except airflow_compat.TaskDeferred as deferred:  # the KPO may defer again (logging_interval)
            self._defer_backend(deferred, needed)
        finally:
            self._backend = None
        return self._apply(context, read_result(ended), needed)

    def _log_target_line(self, line: str) -> None:
        """Redacted here too, not only by the log pipeline: ``airflow dags test`` and some handlers
        write records without Airflow's masking filter."""
        self.log.info("%s", airflow_compat.redact(line))

    def on_kill(self) -> None:
        if self._backend is not None:
            self._backend.kill()

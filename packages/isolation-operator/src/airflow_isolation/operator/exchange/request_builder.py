"""Building the ``IsolationRequest`` on the host at execute time.

Connections and variables are resolved here, through the host's own secrets backends, and every
secret is registered with the host's masker before anything is logged or sent.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterable, List, Optional, Sequence

from airflow_isolation.core import (
    SCHEMA_VERSION,
    ConnectionSpec,
    IsolationRequest,
    RunOptions,
    TaskContext,
    encode,
)
from airflow_isolation.core.integrity import new_nonce
from airflow_isolation.core.schema import TaskSpec
from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.facets import HOST_FACETS, HostTask
from airflow_isolation.operator.facets.xcom import warn_unsendable_xcom
from airflow_isolation.operator.parse.signature import default_conn_ids
from airflow_isolation.operator.shipping.callable_source import callable_spec

log = logging.getLogger(__name__)


class MissingConnectionError(airflow_compat.AirflowException):
    pass


class MissingVariableError(airflow_compat.AirflowException):
    pass


def _str_or_none(value: Any) -> Optional[str]:
    return None if value is None else str(value)


def implied_conn_ids(operator_class: Optional[type], kwargs: Dict[str, Any]) -> List[str]:
    """Every ``*conn_id`` kwarg given, plus the defaults of those not given (e.g. 'postgres_default')."""
    found = [v for k, v in kwargs.items() if k.endswith("conn_id") and isinstance(v, str) and v]
    if operator_class is not None:
        found += default_conn_ids(operator_class, kwargs)
    return list(dict.fromkeys(found))


def resolve_connections(explicit: Sequence[str], implied: Iterable[str]) -> List[ConnectionSpec]:
    specs: Dict[str, ConnectionSpec] = {}
    for conn_id in explicit:
        specs[conn_id] = _connection_spec(conn_id, required=True)  # type: ignore[assignment]
    for conn_id in implied:
        if conn_id not in specs:
            spec = _connection_spec(conn_id, required=False)
            if spec is not None:
                specs[conn_id] = spec
    return list(specs.values())


def _connection_spec(conn_id: str, required: bool) -> Optional[ConnectionSpec]:
    try:
        conn = airflow_compat.get_connection(conn_id)
    except Exception as exc:
        if not required:
            log.info("Connection %r is not defined on the host; not shipping it.", conn_id)
            return None
        raise MissingConnectionError(
            f"connection {conn_id!r} listed in connections=[...] is not defined on the host ({exc}); "
            "create it (airflow connections add, the UI, or your secrets backend) or remove it from the list"
        ) from exc
    if conn.password:
        airflow_compat.mask_secret(conn.password)
    extra = conn.extra if isinstance(conn.extra, str) or conn.extra is None else str(conn.extra)
    port = conn.port
    return ConnectionSpec(
        conn_id=conn_id,
        conn_type=_str_or_none(conn.conn_type),
        description=_str_or_none(getattr(conn, "description", None)),
        host=_str_or_none(conn.host),
        login=_str_or_none(conn.login),
        password=_str_or_none(conn.password),
        schema=_str_or_none(conn.schema),
        port=int(port) if port not in (None, "") else None,
        extra=extra,
    )


def resolve_variables(keys: Sequence[str]) -> Dict[str, str]:
    values: Dict[str, str] = {}
    for key in keys:
        try:
            values[key] = str(airflow_compat.get_variable(key))
        except Exception as exc:
            raise MissingVariableError(
                f"variable {key!r} listed in variables=[...] is not defined on the host ({exc}); "
                "create it or remove it from the list"
            ) from exc
    return values


def secrets_of(connections: List[ConnectionSpec], variables: Dict[str, str], task: TaskSpec) -> List[str]:
    """What the target must mask: shipped passwords and sensitive Variables, and every secret the
    host masks that templates rendered into the task's arguments (``{{ conn.db.password }}``)."""
    secrets = [c.password for c in connections if c.password]
    secrets += [value for key, value in variables.items() if airflow_compat.is_sensitive_name(key)]
    for secret in secrets:
        airflow_compat.mask_secret(secret)
    others = [s for s in airflow_compat.registered_secrets() if s not in secrets]
    if others:
        rendered = "\0".join(_strings(task))  # one C-speed scan per secret, however many strings
        secrets += [s for s in others if s in rendered]
    return secrets


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item)
    elif hasattr(value, "__struct_fields__"):
        for field in value.__struct_fields__:
            yield from _strings(getattr(value, field))


def _int_or(value: Any, default: int) -> int:
    return default if value is None else int(value)


def _enum_value(value: Any) -> Optional[str]:
    """``DagRunType.MANUAL`` → ``"manual"``; Airflow 2 and 3 differ in what they hand out."""
    return _str_or_none(getattr(value, "value", value))


def _plain_params(params: Any) -> Dict[str, Any]:
    if params is None:
        return {}
    dump = getattr(params, "dump", None)
    return dict(dump()) if callable(dump) else dict(params)


def task_context(task: HostTask) -> TaskContext:
    """The task's context for the target: the exchange's own fields, and each facet's."""
    context = task.context
    ti = context["ti"]
    dag_run = context.get("dag_run")
    fields: Dict[str, Any] = {}
    for host in HOST_FACETS:
        fields.update(host.context_fields(task))
    return TaskContext(
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        run_id=context.get("run_id") or ti.run_id,
        try_number=_int_or(getattr(ti, "try_number", None), 1),
        max_tries=_int_or(getattr(ti, "max_tries", None), 0),
        map_index=_int_or(getattr(ti, "map_index", None), -1),
        logical_date=context.get("logical_date"),
        data_interval_start=context.get("data_interval_start"),
        data_interval_end=context.get("data_interval_end"),
        start_date=getattr(ti, "start_date", None),
        ds=context.get("ds"),
        ds_nodash=context.get("ds_nodash"),
        ts=context.get("ts"),
        ts_nodash=context.get("ts_nodash"),
        ts_nodash_with_tz=context.get("ts_nodash_with_tz"),
        run_type=_enum_value(getattr(dag_run, "run_type", None)),
        params=_plain_params(context.get("params")),
        dag_run_conf=dict(getattr(dag_run, "conf", None) or {}),
        **fields,
    )


def run_options(task: HostTask) -> RunOptions:
    fields: Dict[str, Any] = {}
    for host in HOST_FACETS:
        fields.update(host.option_fields(task))
    return RunOptions(**fields)


def build_request(
    task: HostTask, connections: List[ConnectionSpec], variables: Dict[str, str]
) -> IsolationRequest:
    """The request for ``task``; its spec is what runs."""
    if task.spec is None:
        raise ValueError("build_request needs the task's spec")
    fields: Dict[str, Any] = {}
    for host in HOST_FACETS:
        fields.update(host.request_fields(task))
    return IsolationRequest(
        schema=SCHEMA_VERSION,
        task=task.spec,
        context=task_context(task),
        connections=connections,
        variables=variables,
        secrets_to_mask=secrets_of(connections, variables, task.spec),
        options=run_options(task),
        nonce=new_nonce(),
        **fields,
    )


def lower_callable(value: Any, path: str) -> Any:
    return callable_spec(value, path)


def encode_request(request: IsolationRequest) -> bytes:
    """The request's bytes: callables shipped as specs, unsendable upstream XComs left out."""
    return encode(request, callables=lower_callable, unsendable_xcom=warn_unsendable_xcom)

"""Building the ``IsolationRequest`` on the host at execute time.

Connections and variables are resolved here, through the host's own secrets backends, and every
secret is registered with the host's masker before anything is logged or sent.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from airflow_isolation.core import (
    SCHEMA_VERSION,
    ConnectionSpec,
    IsolationRequest,
    RunOptions,
    ShippedModule,
    TaskContext,
    ValueEncodeError,
    encode,
)
from airflow_isolation.core.integrity import new_nonce
from airflow_isolation.core.schema import TaskSpec
from airflow_isolation.operator.facets import assets
from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.shipping.callable_source import callable_spec
from airflow_isolation.operator.parse.signature import default_conn_ids

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


def _upstream_xcoms(context: Dict[str, Any], upstream_ids: Iterable[str]) -> Dict[str, Any]:
    """Return values of direct upstream tasks, as pulled: ``encode`` lowers each once, leaving out
    (with ``warn_unsendable_xcom``) one that cannot travel."""
    ti = context["ti"]
    shipped: Dict[str, Any] = {}
    for task_id in sorted(upstream_ids):
        try:
            value = ti.xcom_pull(task_ids=task_id)
            if value is not None and not isinstance(value, (str, bytes, dict)) and hasattr(value, "__iter__"):
                value = list(value)  # lazy sequences of mapped upstreams
        except Exception:
            log.debug("No XCom from upstream task %r", task_id, exc_info=True)
            continue
        shipped[task_id] = value
    return shipped


def warn_unsendable_xcom(task_id: str, error: ValueEncodeError) -> None:
    """An upstream XCom the task may never read must not fail it: leave it out, say so."""
    log.warning("Not shipping the XCom of upstream task %r: %s", task_id, error)


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


def _downstream(task: Any) -> Tuple[List[str], List[str], List[str]]:
    """Direct downstream ids, all downstream ids and the teardowns among them: what the rebuilt
    operator's skip logic reads from a DAG it does not have in the target."""
    if task is None or not getattr(task, "has_dag", lambda: False)():
        return [], [], []
    flat = sorted(task.get_flat_relatives(upstream=False), key=lambda t: t.task_id)
    return (
        sorted(task.downstream_task_ids),
        [t.task_id for t in flat],
        [t.task_id for t in flat if getattr(t, "is_teardown", False)],
    )


def first_reschedule_date(context: Dict[str, Any], retries: int) -> Optional[dt.datetime]:
    """When this task's first try started, from the host's task reschedules, as a sensor in
    reschedule mode asks natively (3.x: the API server; 2.x: the database)."""
    ti = context["ti"]
    if airflow_compat.AIRFLOW_MAJOR >= 3:
        return ti.get_first_reschedule_date(context)  # type: ignore[no-any-return]
    from airflow.sensors.base import _orig_start_date

    return _orig_start_date(  # type: ignore[no-any-return]
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        run_id=ti.run_id,
        map_index=ti.map_index,
        try_number=(ti.max_tries or 0) - (retries or 0) + 1,
    )


def task_context(
    context: Dict[str, Any], upstream_ids: Set[str], first_reschedule: Optional[dt.datetime] = None
) -> TaskContext:
    ti = context["ti"]
    dag_run = context.get("dag_run")
    task = context.get("task")
    direct, flat, teardowns = _downstream(task)
    inlets = list(getattr(task, "inlets", None) or ())
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
        upstream_xcoms=_upstream_xcoms(context, upstream_ids),
        host_airflow_version=airflow_compat.AIRFLOW_VERSION,
        downstream_task_ids=direct,
        flat_downstream_task_ids=flat,
        downstream_teardown_ids=teardowns,
        first_reschedule_date=first_reschedule,
        run_after=getattr(dag_run, "run_after", None),
        inlets=assets.specs(inlets),
        outlets=assets.specs(getattr(task, "outlets", None) or ()),
        inlet_events=assets.inlet_events(context, inlets),
        triggering_asset_events=assets.triggering_events(context),
    )


def build_request(
    task: TaskSpec,
    context: Dict[str, Any],
    upstream_ids: Set[str],
    connections: List[ConnectionSpec],
    variables: Dict[str, str],
    *,
    options: Optional[RunOptions] = None,
    first_reschedule: Optional[dt.datetime] = None,
    modules: Sequence[ShippedModule] = (),
) -> IsolationRequest:
    return IsolationRequest(
        schema=SCHEMA_VERSION,
        task=task,
        context=task_context(context, upstream_ids, first_reschedule),
        connections=connections,
        variables=variables,
        secrets_to_mask=secrets_of(connections, variables, task),
        options=options or RunOptions(),
        nonce=new_nonce(),
        modules=list(modules),
    )


def lower_callable(value: Any, path: str) -> Any:
    return callable_spec(value, path)


def encode_request(request: IsolationRequest) -> bytes:
    """The request's bytes: callables shipped as specs, unsendable upstream XComs left out."""
    return encode(request, callables=lower_callable, unsendable_xcom=warn_unsendable_xcom)

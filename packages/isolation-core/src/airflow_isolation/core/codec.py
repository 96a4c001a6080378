"""Encoding of requests and results, and the schema-version rule.

msgpack is the default carrier (compact, native bytes). The JSON carrier exists for transports that
only move JSON (the Kubernetes xcom sidecar). Decoding reads the schema version first, so a major
mismatch is reported as such and never as a confusing field error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Dict, Optional, Type, TypeVar, Union, overload

import msgspec

from airflow_isolation.core.errors import RequestDecodeError, SchemaVersionError, ValueEncodeError
from airflow_isolation.core.schema import (
    SCHEMA_VERSION,
    CallableSpec,
    IsolationRequest,
    IsolationResult,
    OperatorSpec,
    SchemaVersion,
    TaskContext,
    XComPush,
)
from airflow_isolation.core.values import (
    CallableLowerer,
    CallableRaiser,
    Lowerer,
    Raiser,
    json_enc_hook,
)

Message = Union[IsolationRequest, IsolationResult]
M = TypeVar("M", IsolationRequest, IsolationResult)
UnsendableXCom = Callable[[str, ValueEncodeError], None]
"""Told which upstream task's XCom cannot be sent, and why; that XCom is then left out of the request.

Upstream XComs are a convenience the task may not even read, so the host may prefer a warning to a
failed task; with no such hook an unsendable XCom fails the encoding like any other value.
"""


# msgspec reports invalid UTF-8 inside a string as UnicodeDecodeError, not DecodeError
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError)


class _Envelope(msgspec.Struct):
    schema: SchemaVersion


def check_compatible(found: SchemaVersion, what: str = "request") -> None:
    """Accept any minor of our major; name both versions and the fix otherwise."""
    if found.major == SCHEMA_VERSION.major:
        return
    # a request is written by the host operator and read by the target runtime; a result the reverse
    sides = ("target runtime", "host operator")
    reader, writer = sides if what == "request" else sides[::-1]
    older = reader if found.major > SCHEMA_VERSION.major else writer
    raise SchemaVersionError(
        f"the {what} uses wire schema {found} but this side speaks {SCHEMA_VERSION} "
        f"(major versions must match). Upgrade airflow-isolation on the {older} side so both use "
        f"schema {max(found.major, SCHEMA_VERSION.major)}.x, then rebuild the environment "
        "(isolationctl env build NAME)."
    )


def _lower_task(task: Union[OperatorSpec, CallableSpec], low: Lowerer) -> Any:
    if isinstance(task, OperatorSpec):
        return msgspec.structs.replace(task, kwargs=low.lower(task.kwargs, "kwargs"))
    return msgspec.structs.replace(
        task, args=low.lower(task.args, "args"), kwargs=low.lower(task.kwargs, "kwargs")
    )


_CONTEXT_DATETIMES = ("logical_date", "data_interval_start", "data_interval_end", "start_date")


def _plain_datetime(value: Optional[dt.datetime]) -> Optional[dt.datetime]:
    """msgspec encodes only ``datetime`` itself, not subclasses such as pendulum's ``DateTime``."""
    if value is None or type(value) is dt.datetime:
        return value
    return dt.datetime.fromisoformat(value.isoformat())


def _lower_xcoms(xcoms: Dict[str, Any], low: Lowerer, unsendable: Optional[UnsendableXCom]) -> Any:
    if unsendable is None:
        return low.lower(xcoms, "upstream_xcoms")
    low.lower(dict.fromkeys(xcoms), "upstream_xcoms")  # the carrier's checks of the keys alone
    lowered = {}
    for task_id, value in xcoms.items():
        try:
            lowered[task_id] = low.lower(value, f"upstream_xcoms[{task_id!r}]")
        except ValueEncodeError as exc:
            unsendable(task_id, exc)
    return lowered


def _lower_context(ctx: TaskContext, low: Lowerer, unsendable: Optional[UnsendableXCom]) -> TaskContext:
    return msgspec.structs.replace(
        ctx,
        **{name: _plain_datetime(getattr(ctx, name)) for name in _CONTEXT_DATETIMES},
        params=low.lower(ctx.params, "params"),
        dag_run_conf=low.lower(ctx.dag_run_conf, "dag_run.conf"),
        upstream_xcoms=_lower_xcoms(ctx.upstream_xcoms, low, unsendable),
    )


@overload
def lower_message(
    msg: IsolationRequest,
    carrier: str = ...,
    callables: Optional[CallableLowerer] = ...,
    unsendable_xcom: Optional[UnsendableXCom] = ...,
) -> IsolationRequest: ...


@overload
def lower_message(
    msg: IsolationResult,
    carrier: str = ...,
    callables: Optional[CallableLowerer] = ...,
    unsendable_xcom: Optional[UnsendableXCom] = ...,
) -> IsolationResult: ...


def lower_message(
    msg: Message,
    carrier: str = "msgpack",
    callables: Optional[CallableLowerer] = None,
    unsendable_xcom: Optional[UnsendableXCom] = None,
) -> Message:
    """Turn every ``Any`` value in ``msg`` into carrier-safe data (raises ValueEncodeError).

    Each value is lowered once, here: a request's upstream XComs that cannot be sent are left out
    (and reported to ``unsendable_xcom``) in the same walk that lowers the rest.
    """
    low = Lowerer(carrier, callables)
    if isinstance(msg, IsolationRequest):
        resumption = msg.resumption
        return msgspec.structs.replace(
            msg,
            task=_lower_task(msg.task, low),
            context=_lower_context(msg.context, low, unsendable_xcom),
            resumption=None
            if resumption is None
            else msgspec.structs.replace(resumption, kwargs=low.lower(resumption.kwargs, "resumption")),
        )
    trigger = msg.dag_run_trigger
    try:
        return msgspec.structs.replace(
            msg,
            return_value=low.lower(msg.return_value, "return_value"),
            xcom_pushes=[XComPush(p.key, low.lower(p.value, f"xcom[{p.key!r}]")) for p in msg.xcom_pushes],
            dag_run_trigger=None
            if trigger is None
            else msgspec.structs.replace(
                trigger,
                conf=low.lower(trigger.conf, "dag_run_trigger.conf"),
                logical_date=_plain_datetime(trigger.logical_date),
                run_after_date=_plain_datetime(trigger.run_after_date),
            ),
        )
    except ValueEncodeError as exc:  # a result travels from the target to the host
        raise exc.toward("the host") from None


def encode(
    msg: Message,
    callables: Optional[CallableLowerer] = None,
    unsendable_xcom: Optional[UnsendableXCom] = None,
) -> bytes:
    return msgspec.msgpack.encode(lower_message(msg, "msgpack", callables, unsendable_xcom))


def encode_json(
    msg: Message,
    callables: Optional[CallableLowerer] = None,
    unsendable_xcom: Optional[UnsendableXCom] = None,
) -> bytes:
    return msgspec.json.encode(lower_message(msg, "json", callables, unsendable_xcom), enc_hook=json_enc_hook)


def _decode(data: bytes, kind: Type[M], callables: Optional[CallableRaiser], json: bool) -> M:
    what = "request" if kind is IsolationRequest else "result"
    raiser = Raiser(callables, what)
    try:
        if json:
            envelope = msgspec.json.decode(data, type=_Envelope)
        else:
            envelope = msgspec.msgpack.decode(data, type=_Envelope, ext_hook=raiser.ext_hook)
    except _DECODE_ERRORS as exc:
        raise RequestDecodeError(
            f"the {what} is corrupted, truncated or not an airflow-isolation {what} "
            f"({len(data)} bytes: {exc}). It is written by the host for each run; clear the task "
            "to run it again, and check the disk and the transport if it keeps happening."
        ) from exc
    check_compatible(envelope.schema, what)
    try:
        if json:
            msg = msgspec.json.decode(data, type=kind)
            return _raise_json(msg, raiser)
        return msgspec.msgpack.decode(data, type=kind, ext_hook=raiser.ext_hook)
    except _DECODE_ERRORS as exc:
        raise RequestDecodeError(
            f"the {what} (schema {envelope.schema}) does not match the schema: {exc}. Clear the task "
            "to run it again; if it persists, upgrade airflow-isolation so both sides match."
        ) from exc


def _raise_json(msg: M, raiser: Raiser) -> M:
    if isinstance(msg, IsolationRequest):
        task = msg.task
        if isinstance(task, OperatorSpec):
            task = msgspec.structs.replace(task, kwargs=raiser.raise_json(task.kwargs))
        else:
            task = msgspec.structs.replace(
                task, args=raiser.raise_json(task.args), kwargs=raiser.raise_json(task.kwargs)
            )
        ctx = msg.context
        ctx = msgspec.structs.replace(
            ctx,
            params=raiser.raise_json(ctx.params),
            dag_run_conf=raiser.raise_json(ctx.dag_run_conf),
            upstream_xcoms=raiser.raise_json(ctx.upstream_xcoms),
        )
        resumption = msg.resumption
        if resumption is not None:
            resumption = msgspec.structs.replace(resumption, kwargs=raiser.raise_json(resumption.kwargs))
        return msgspec.structs.replace(msg, task=task, context=ctx, resumption=resumption)
    trigger = msg.dag_run_trigger
    if trigger is not None:
        trigger = msgspec.structs.replace(trigger, conf=raiser.raise_json(trigger.conf))
    return msgspec.structs.replace(
        msg,
        return_value=raiser.raise_json(msg.return_value),
        xcom_pushes=[XComPush(p.key, raiser.raise_json(p.value)) for p in msg.xcom_pushes],
        dag_run_trigger=trigger,
    )


def decode_request(data: bytes, callables: Optional[CallableRaiser] = None) -> IsolationRequest:
    return _decode(data, IsolationRequest, callables, json=False)


def decode_result(data: bytes) -> IsolationResult:
    return _decode(data, IsolationResult, None, json=False)


def decode_result_json(data: bytes) -> IsolationResult:
    return _decode(data, IsolationResult, None, json=True)


def decode_request_json(data: bytes, callables: Optional[CallableRaiser] = None) -> IsolationRequest:
    return _decode(data, IsolationRequest, callables, json=True)

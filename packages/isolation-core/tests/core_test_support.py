"""Helpers shared by core's tests: message builders, both carriers, and a type-strict comparison."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any, Callable, Dict, NamedTuple, Optional

from airflow_isolation.core import (
    SCHEMA_VERSION,
    IsolationRequest,
    IsolationResult,
    OperatorSpec,
    SchemaVersion,
    TaskContext,
    XComPush,
    decode_request,
    decode_request_json,
    decode_result,
    decode_result_json,
    encode,
    encode_json,
)


class Carrier(NamedTuple):
    name: str
    encode: Callable[..., bytes]
    decode_request: Callable[..., IsolationRequest]
    decode_result: Callable[[bytes], IsolationResult]


MSGPACK = Carrier("msgpack", encode, decode_request, decode_result)
JSON = Carrier("json", encode_json, decode_request_json, decode_result_json)
CARRIERS = [MSGPACK, JSON]


def context(**overrides: Any) -> TaskContext:
    fields: Dict[str, Any] = {"dag_id": "dag", "task_id": "task", "run_id": "manual__2024-01-01"}
    fields.update(overrides)
    return TaskContext(**fields)


def request(
    kwargs: Optional[Dict[str, Any]] = None,
    schema: SchemaVersion = SCHEMA_VERSION,
    **context_fields: Any,
) -> IsolationRequest:
    return IsolationRequest(
        schema=schema,
        task=OperatorSpec(class_path="pkg.mod.Op", kwargs=kwargs or {}),
        context=context(**context_fields),
    )


def result(
    return_value: Any = None, schema: SchemaVersion = SCHEMA_VERSION, status: str = "success", **fields: Any
) -> IsolationResult:
    return IsolationResult(schema=schema, status=status, return_value=return_value, **fields)  # type: ignore[arg-type]


def roundtrip_value(carrier: Carrier, value: Any) -> Any:
    """``value`` sent through ``carrier`` both as an operator kwarg and as a return value/XCom."""
    req = carrier.decode_request(carrier.encode(request({"v": value})))
    assert isinstance(req.task, OperatorSpec)
    res = carrier.decode_result(carrier.encode(result(value, xcom_pushes=[XComPush("k", value)])))
    assert_same(res.return_value, req.task.kwargs["v"])
    assert_same(res.xcom_pushes[0].value, req.task.kwargs["v"])
    return res.return_value


def zone_name(value: Any) -> Optional[str]:
    tz = value.tzinfo
    for attr in ("key", "name", "zone"):
        name = getattr(tz, attr, None)
        if isinstance(name, str) and name:
            return name
    return None


def assert_same(got: Any, expected: Any, path: str = "value") -> None:
    """Equal *and* of the same type all the way down (``1 == True``, ``(1,) != [1]`` and
    ``{1} == frozenset({1})`` make plain ``==`` too weak); NaN equals NaN; datetimes must be the
    same instant in the same named zone."""
    assert type(got) is type(expected), (
        f"{path}: {type(got).__name__} {got!r} != {type(expected).__name__} {expected!r}"
    )
    if isinstance(expected, float):
        if math.isnan(expected):
            assert math.isnan(got), f"{path}: {got!r} is not NaN"
        else:
            assert got == expected, f"{path}: {got!r} != {expected!r}"
            assert math.copysign(1, got) == math.copysign(1, expected), f"{path}: sign of {got!r}"
    elif isinstance(expected, decimal.Decimal):
        assert str(got) == str(expected), f"{path}: {got!r} != {expected!r}"
    elif isinstance(expected, dt.datetime):
        assert (got.tzinfo is None) == (expected.tzinfo is None), f"{path}: {got!r} != {expected!r}"
        if expected.tzinfo is None:
            assert got == expected, f"{path}: {got!r} != {expected!r}"
        else:
            assert got.astimezone(dt.timezone.utc) == expected.astimezone(dt.timezone.utc), f"{path}: instant"
            # (an imaginary wall time, inside a DST gap, comes back as the real time of that instant)
            instant = expected.astimezone(dt.timezone.utc)
            assert got.utcoffset() == instant.astimezone(got.tzinfo).utcoffset(), f"{path}: offset"
            assert zone_name(got) == zone_name(expected), (
                f"{path}: zone {zone_name(got)} != {zone_name(expected)}"
            )
    elif isinstance(expected, dict):
        assert list(got) == list(expected), f"{path}: keys (or their order) {list(got)} != {list(expected)}"
        assert [type(k) for k in got] == [type(k) for k in expected], f"{path}: key types"
        for key in expected:
            assert_same(got[key], expected[key], f"{path}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), f"{path}: {got!r} != {expected!r}"
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_same(g, e, f"{path}[{i}]")
    elif isinstance(expected, (set, frozenset)):
        assert got == expected, f"{path}: {got!r} != {expected!r}"
        assert sorted(type(x).__name__ for x in got) == sorted(type(x).__name__ for x in expected), path
    else:
        assert got == expected, f"{path}: {got!r} != {expected!r}"

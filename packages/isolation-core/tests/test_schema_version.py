"""The compatibility rule, forward compatibility inside a major, and damaged input."""

from __future__ import annotations

import base64
import contextlib
import json
import random
from typing import Any, Dict

import msgspec
import pytest
from core_test_support import CARRIERS, JSON, MSGPACK, Carrier, assert_same, request, result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_isolation.core import (
    SCHEMA_VERSION,
    ConnectionSpec,
    IsolationError,
    OperatorSpec,
    RequestDecodeError,
    SchemaVersion,
    SchemaVersionError,
    XComPush,
    check_compatible,
)


def test_current_version() -> None:
    assert SchemaVersion(1, 5) == SCHEMA_VERSION
    assert str(SCHEMA_VERSION) == "1.5"


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_newer_major_request_fails_loudly(carrier: Carrier) -> None:
    data = carrier.encode(request({"x": 1}, schema=SchemaVersion(2, 0)))
    with pytest.raises(SchemaVersionError) as info:
        carrier.decode_request(data)
    message = str(info.value)
    assert "2.0" in message
    assert "1.5" in message
    assert "Upgrade" in message
    assert "target runtime" in message  # the reader of a request is the older side
    assert "isolationctl env build" in message


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_older_major_request_names_the_host(carrier: Carrier) -> None:
    with pytest.raises(
        SchemaVersionError, match=r"0\.3.*1\.5.*Upgrade airflow-isolation on the host operator"
    ):
        carrier.decode_request(carrier.encode(request(schema=SchemaVersion(0, 3))))


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_newer_major_result_names_the_host(carrier: Carrier) -> None:
    """A result is read by the host: when it is newer, the host operator is the side to upgrade."""
    with pytest.raises(
        SchemaVersionError, match=r"result uses wire schema 2\.1.*Upgrade airflow-isolation on the host"
    ):
        carrier.decode_result(carrier.encode(result(1, schema=SchemaVersion(2, 1))))


def test_major_is_checked_before_the_fields() -> None:
    """A v2 request with an unrecognisable body still reports the version, not a field error."""
    data = msgspec.msgpack.encode({"schema": [2, 0], "task": {"type": "something-new"}, "ctx": 5})
    with pytest.raises(SchemaVersionError, match=r"2\.0"):
        MSGPACK.decode_request(data)
    with pytest.raises(SchemaVersionError, match=r"2\.0"):
        JSON.decode_request(msgspec.json.encode({"schema": [2, 0], "task": None}))


def test_check_compatible() -> None:
    check_compatible(SchemaVersion(1, 0))
    check_compatible(SchemaVersion(1, 99), "result")
    with pytest.raises(SchemaVersionError):
        check_compatible(SchemaVersion(3, 0))


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_newer_minor_decodes(carrier: Carrier) -> None:
    got = carrier.decode_request(carrier.encode(request({"t": (1,)}, schema=SchemaVersion(1, 7))))
    assert got.schema == SchemaVersion(1, 7)
    assert_same(got.task.kwargs, {"t": (1,)})
    res = carrier.decode_result(carrier.encode(result((2,), schema=SchemaVersion(1, 7))))
    assert res.schema == SchemaVersion(1, 7)
    assert_same(res.return_value, (2,))


def _add_unknown_fields(message: Dict[str, Any]) -> None:
    """What a newer minor of the schema may write: new optional fields at every level."""
    message["schema"] = [1, 9, "a future third element"]
    message["new_top_level"] = {"anything": [1, 2]}
    if "task" in message:
        message["task"]["new_task_field"] = "x"
        message["context"]["new_context_field"] = [None]
        message["options"]["new_option"] = True
        message["connections"][0]["new_connection_field"] = 5
    else:
        message["timings"]["new_phase"] = 1.0
        message["error"]["new_error_field"] = "details"
        message["xcom_pushes"][0].append("a third element of a future XComPush")


def _full_request() -> Any:
    req = request({"t": (1, 2)}, params={"p": {1}})
    req.connections.append(ConnectionSpec(conn_id="c"))
    return req


def _full_result() -> Any:
    from airflow_isolation.core import ErrorInfo

    return result((1, 2), xcom_pushes=[XComPush("k", {3})], error=ErrorInfo("E", "m", "tb"))


def test_unknown_fields_of_a_newer_minor_are_ignored_msgpack() -> None:
    raw = msgspec.msgpack.decode(MSGPACK.encode(_full_request()))  # Any: extension values stay msgpack.Ext
    _add_unknown_fields(raw)
    got = MSGPACK.decode_request(msgspec.msgpack.encode(raw))
    assert got.schema == SchemaVersion(1, 9)
    assert isinstance(got.task, OperatorSpec)
    assert_same(got.task.kwargs, {"t": (1, 2)})
    assert_same(got.context.params, {"p": {1}})
    assert got.connections == [ConnectionSpec(conn_id="c")]

    raw = msgspec.msgpack.decode(MSGPACK.encode(_full_result()))
    _add_unknown_fields(raw)
    res = MSGPACK.decode_result(msgspec.msgpack.encode(raw))
    assert_same(res.return_value, (1, 2))
    assert res.xcom_pushes == [XComPush("k", {3})]
    assert res.error is not None
    assert res.error.message == "m"


def test_unknown_fields_of_a_newer_minor_are_ignored_json() -> None:
    raw = json.loads(JSON.encode(_full_request()))
    _add_unknown_fields(raw)
    got = JSON.decode_request(json.dumps(raw).encode())
    assert got.schema == SchemaVersion(1, 9)
    assert_same(got.task.kwargs, {"t": (1, 2)})

    raw = json.loads(JSON.encode(_full_result()))
    _add_unknown_fields(raw)
    res = JSON.decode_result(json.dumps(raw).encode())
    assert_same(res.return_value, (1, 2))
    assert res.xcom_pushes == [XComPush("k", {3})]


def _assert_actionable(error: RequestDecodeError, what: str = "request") -> None:
    message = str(error)
    assert f"the {what} is corrupted, truncated or not an airflow-isolation {what}" in message
    assert "clear the task" in message


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_empty_input(carrier: Carrier) -> None:
    with pytest.raises(RequestDecodeError) as info:
        carrier.decode_request(b"")
    _assert_actionable(info.value)
    assert "0 bytes" in str(info.value)
    with pytest.raises(RequestDecodeError) as info:
        carrier.decode_result(b"")
    _assert_actionable(info.value, "result")


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(20))
def test_random_bytes(carrier: Carrier, seed: int) -> None:
    rng = random.Random(seed)
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    with pytest.raises(RequestDecodeError) as info:
        carrier.decode_request(data)
    _assert_actionable(info.value)


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_every_truncation_of_a_valid_request(carrier: Carrier) -> None:
    data = carrier.encode(_full_request())
    for size in range(len(data)):
        with pytest.raises(RequestDecodeError) as info:
            carrier.decode_request(data[:size])
        assert "request" in str(info.value)
        assert "Clear the task" in str(info.value) or "clear the task" in str(info.value)


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_valid_schema_but_missing_fields(carrier: Carrier) -> None:
    enc = msgspec.msgpack.encode if carrier is MSGPACK else msgspec.json.encode
    with pytest.raises(RequestDecodeError, match=r"schema 1\.0\) does not match the schema.*task") as info:
        carrier.decode_request(
            enc({"schema": [1, 0], "context": {"dag_id": "d", "task_id": "t", "run_id": "r"}})
        )
    assert "upgrade airflow-isolation" in str(info.value)
    with pytest.raises(RequestDecodeError):
        carrier.decode_request(enc([1, 0]))  # valid encoding of something else entirely
    with pytest.raises(RequestDecodeError):
        carrier.decode_result(enc({"schema": [1, 0], "status": "exploded"}))


def _raw_result_with_ext(code: int, payload: bytes) -> Dict[str, bytes]:
    return {
        "msgpack": msgspec.msgpack.encode(
            {"schema": [1, 0], "status": "success", "return_value": [msgspec.msgpack.Ext(code, payload)]}
        ),
        "json": msgspec.json.encode(
            {
                "schema": [1, 0],
                "status": "success",
                "return_value": [{"__isolation_ext__": [code, base64.b64encode(payload).decode()]}],
            }
        ),
    }


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_unknown_extension_code(carrier: Carrier) -> None:
    data = _raw_result_with_ext(99, msgspec.msgpack.encode("future"))[carrier.name]
    with pytest.raises(RequestDecodeError) as info:
        carrier.decode_result(data)
    message = str(info.value)
    assert "unknown extension type 99" in message
    assert "newer airflow-isolation-core" in message
    assert "upgrade the operator on the host" in message

    raw = msgspec.msgpack.decode(MSGPACK.encode(request()))
    raw["task"]["kwargs"]["x"] = msgspec.msgpack.Ext(99, b"\xc0")
    data = msgspec.msgpack.encode(raw)
    if carrier is JSON:
        raw["task"]["kwargs"]["x"] = {"__isolation_ext__": [99, "wA=="]}
        data = msgspec.json.encode(raw)
    with pytest.raises(RequestDecodeError) as info:
        carrier.decode_request(data)
    message = str(info.value)
    assert "unknown extension type 99" in message
    assert "upgrade the runtime in the target environment" in message
    assert "isolationctl env build" in message


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
@pytest.mark.parametrize(
    ("code", "payload"),
    [
        (1, 5),  # datetime needs [iso, zone, kind]
        (1, ["not a date", None, "datetime"]),
        (2, "2024-13-45"),
        (3, None),
        (4, [1]),
        (4, [10**12, 0, 0]),  # timedelta overflow
        (5, 7),  # tuple needs an array
        (6, [[1]]),  # unhashable set element
        (7, "abc"),
        (8, "not a number"),
        (9, {"no": "name"}),  # callable spec without its fields
        (10, 10**9),  # bytes(10**9) would allocate a gigabyte of zeros
        (11, "not-a-uuid"),
        (12, "nan?"),
    ],
)
def test_malformed_extension_payloads(carrier: Carrier, code: int, payload: Any) -> None:
    data = _raw_result_with_ext(code, msgspec.msgpack.encode(payload))[carrier.name]
    with pytest.raises(RequestDecodeError, match=f"malformed .*extension type {code}"):
        carrier.decode_result(data)


@pytest.mark.parametrize(
    "wrapper",
    [5, [5], [5, "!!not base64!!"], ["5", "kA=="], [5, "kA==", "extra"], None],
)
def test_malformed_json_extension_wrapper(wrapper: Any) -> None:
    data = msgspec.json.encode(
        {"schema": [1, 0], "status": "success", "return_value": {"__isolation_ext__": wrapper}}
    )
    with pytest.raises(RequestDecodeError, match="__isolation_ext__"):
        JSON.decode_result(data)


# --- fuzzing: whatever the bytes, the only exceptions are IsolationError ----------------------------

_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode_all(data: bytes) -> None:
    for decode in (MSGPACK.decode_request, MSGPACK.decode_result, JSON.decode_request, JSON.decode_result):
        with contextlib.suppress(IsolationError):
            decode(data)


@_FUZZ
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    _decode_all(data)


_VALID = [
    carrier.encode(message)
    for carrier in CARRIERS
    for message in (_full_request(), _full_result(), request({"d": {"t": ((1,), b"x")}}))
]


@_FUZZ
@given(
    st.sampled_from(_VALID),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_fuzz_mutated_messages(data: bytes, edits: Any) -> None:
    mutated = bytearray(data)
    for position, byte in edits:
        mutated[position % len(mutated)] = byte
    _decode_all(bytes(mutated))

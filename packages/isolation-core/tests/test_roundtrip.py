"""Round trips of ``Any`` values through both carriers (msgpack and JSON), requests and results."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import uuid
from collections import OrderedDict, namedtuple
from typing import Any, List, Optional, Tuple
from zoneinfo import ZoneInfo

import msgspec
import pytest
from core_test_support import CARRIERS, JSON, MSGPACK, Carrier, assert_same, context, result, roundtrip_value
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_isolation.core import (
    SCHEMA_VERSION,
    CallableSpec,
    ConnectionSpec,
    ErrorInfo,
    IsolationRequest,
    IsolationResult,
    OperatorSpec,
    RunOptions,
    Timings,
    XComPush,
)

PARIS = ZoneInfo("Europe/Paris")


class Color(enum.Enum):
    RED = "red"
    PAIR = (1, 2)


class Level(enum.IntEnum):
    HIGH = 3


class Mode(str, enum.Enum):
    FAST = "fast"


class Ratio(float, enum.Enum):
    HALF = 0.5


Point = namedtuple("Point", "x y")


@dataclasses.dataclass
class Inner:
    when: dt.date
    tags: Tuple[str, ...]


@dataclasses.dataclass
class Outer:
    name: str
    inner: Inner
    items: List[Any]


class Row(msgspec.Struct):
    id: int
    at: dt.datetime
    pair: Tuple[int, int]


class MyStr(str):
    pass


class MyFloat(float):  # like numpy.float64
    pass


class MyInt(int):
    pass


SUMMER = dt.datetime(2024, 7, 14, 12, 30, 15, 123456, tzinfo=PARIS)
WINTER = dt.datetime(2024, 1, 3, 8, 0, tzinfo=PARIS)
UID = uuid.UUID("12345678-1234-5678-1234-567812345678")

# (id, value sent, value expected back)
CASES: List[Tuple[str, Any, Any]] = [
    ("none", None, None),
    ("true", True, True),
    ("false", False, False),
    ("zero", 0, 0),
    ("negative", -42, -42),
    ("int64-max", 2**63 - 1, 2**63 - 1),
    ("int64-min", -(2**63), -(2**63)),
    ("uint64-max", 2**64 - 1, 2**64 - 1),
    ("float", 1.5, 1.5),
    ("float-negative-zero", -0.0, -0.0),
    ("float-tiny", 5e-324, 5e-324),
    ("float-nan", math.nan, math.nan),
    ("float-inf", math.inf, math.inf),
    ("float-minus-inf", -math.inf, -math.inf),
    ("str-unicode", "héllo ✓ 日本語 🎉 \x00 \u2028", "héllo ✓ 日本語 🎉 \x00 \u2028"),
    ("str-empty", "", ""),
    ("bytes", b"\x00\xffbin\x80", b"\x00\xffbin\x80"),
    ("bytes-empty", b"", b""),
    ("bytearray", bytearray(b"ab"), b"ab"),
    ("memoryview", memoryview(b"cd"), b"cd"),
    ("nested", {"a": [1, {"b": [None, True, "x"]}], "c": {}}, {"a": [1, {"b": [None, True, "x"]}], "c": {}}),
    ("list-empty", [], []),
    ("tuple", (1, "a", None), (1, "a", None)),
    ("tuple-empty", (), ()),
    ("tuple-nested", (1, (2, (3, ())), [4, (5,)]), (1, (2, (3, ())), [4, (5,)])),
    ("tuple-in-list-in-dict", {"d": [(1, "a"), [(2,)]]}, {"d": [(1, "a"), [(2,)]]}),
    ("set", {1, 2, "x"}, {1, 2, "x"}),
    ("set-empty", set(), set()),
    ("set-of-tuples", {(1, 2), (3, (4,))}, {(1, 2), (3, (4,))}),
    ("frozenset", frozenset({"a", (1, frozenset({2}))}), frozenset({"a", (1, frozenset({2}))})),
    ("decimal", decimal.Decimal("1.10"), decimal.Decimal("1.10")),
    ("decimal-exponent", decimal.Decimal("-0E-7"), decimal.Decimal("-0E-7")),
    (
        "decimal-big",
        decimal.Decimal("123456789012345678901234567890.000001"),
        decimal.Decimal("123456789012345678901234567890.000001"),
    ),
    ("decimal-nan", decimal.Decimal("NaN"), decimal.Decimal("NaN")),
    ("decimal-inf", decimal.Decimal("-Infinity"), decimal.Decimal("-Infinity")),
    ("uuid", UID, UID),
    (
        "datetime-naive",
        dt.datetime(2024, 2, 29, 23, 59, 59, 999999),
        dt.datetime(2024, 2, 29, 23, 59, 59, 999999),
    ),
    (
        "datetime-utc",
        dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
        dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
    ),
    (
        "datetime-utc-zoneinfo",
        dt.datetime(2024, 1, 1, tzinfo=ZoneInfo("UTC")),
        dt.datetime(2024, 1, 1, tzinfo=ZoneInfo("UTC")),
    ),
    (
        "datetime-fixed-offset",
        dt.datetime(2024, 1, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
        dt.datetime(2024, 1, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    ),
    ("datetime-paris-summer", SUMMER, SUMMER),
    ("datetime-paris-winter", WINTER, WINTER),
    ("date", dt.date(1999, 12, 31), dt.date(1999, 12, 31)),
    ("time", dt.time(23, 59, 58, 7), dt.time(23, 59, 58, 7)),
    ("time-utc", dt.time(1, 2, tzinfo=dt.timezone.utc), dt.time(1, 2, tzinfo=dt.timezone.utc)),
    (
        "timedelta",
        dt.timedelta(days=-1, seconds=5, microseconds=7),
        dt.timedelta(days=-1, seconds=5, microseconds=7),
    ),
    ("timedelta-big", dt.timedelta(days=999999999), dt.timedelta(days=999999999)),
    ("enum", Color.RED, "red"),
    ("enum-tuple-value", Color.PAIR, (1, 2)),
    ("int-enum", Level.HIGH, 3),
    ("str-enum", Mode.FAST, "fast"),
    ("float-enum", Ratio.HALF, 0.5),
    ("enum-keys", {Mode.FAST: 1}, {"fast": 1}),
    ("namedtuple", Point(1, (2, 3)), {"x": 1, "y": (2, 3)}),
    (
        "dataclass",
        Outer("o", Inner(dt.date(2024, 5, 1), ("a", "b")), [Point(0, 0)]),
        {
            "name": "o",
            "inner": {"when": dt.date(2024, 5, 1), "tags": ("a", "b")},
            "items": [{"x": 0, "y": 0}],
        },
    ),
    ("struct", Row(7, WINTER, (1, 2)), {"id": 7, "at": WINTER, "pair": (1, 2)}),
    ("ordered-dict", OrderedDict([("b", 1), ("a", 2)]), {"b": 1, "a": 2}),
    ("str-subclass", MyStr("s"), "s"),
    ("float-subclass", MyFloat(2.5), 2.5),
    ("int-subclass", MyInt(9), 9),
    ("str-subclass-key", {MyStr("k"): 1}, {"k": 1}),
]


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_value_roundtrip(carrier: Carrier, value: Any, expected: Any) -> None:
    assert_same(roundtrip_value(carrier, value), expected)


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_everything_at_once(carrier: Carrier) -> None:
    sent = {name: value for name, value, _ in CASES}
    expected = {name: value for name, _, value in CASES}
    assert_same(roundtrip_value(carrier, sent), expected)
    assert_same(roundtrip_value(carrier, [sent, (sent,)]), [expected, (expected,)])


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_zoneinfo_datetime_keeps_its_zone(carrier: Carrier) -> None:
    got = roundtrip_value(carrier, dt.datetime(2024, 3, 30, 12, 0, tzinfo=PARIS))
    assert type(got) is dt.datetime
    assert isinstance(got.tzinfo, ZoneInfo)
    assert got.tzinfo.key == "Europe/Paris"
    assert got == dt.datetime(2024, 3, 30, 11, 0, tzinfo=dt.timezone.utc)
    # the zone, not a fixed +01:00, came back: wall-clock arithmetic crosses the DST change
    assert (got + dt.timedelta(days=1)).utcoffset() == dt.timedelta(hours=2)


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_pendulum_datetime_comes_back_as_pendulum(carrier: Carrier) -> None:
    pendulum = pytest.importorskip("pendulum")
    sent = pendulum.datetime(2024, 3, 30, 12, 0, 0, 5, tz="Europe/Paris")
    got = roundtrip_value(carrier, {"when": sent, "list": [sent]})
    assert isinstance(got["when"], pendulum.DateTime)
    assert got["when"].timezone_name == "Europe/Paris"
    assert got["when"] == sent
    assert got["when"].add(days=1).utcoffset() == dt.timedelta(hours=2)
    assert_same(got["list"][0], sent)


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
@pytest.mark.parametrize("kind", ["utc", "naive", "fixed", "date", "duration"])
def test_other_pendulum_values(carrier: Carrier, kind: str) -> None:
    pendulum = pytest.importorskip("pendulum")
    sent, expected = {
        "utc": (pendulum.datetime(2024, 1, 1, 1, 2, 3), pendulum.datetime(2024, 1, 1, 1, 2, 3)),
        "naive": (pendulum.naive(2024, 1, 1, 1, 2, 3), pendulum.naive(2024, 1, 1, 1, 2, 3)),
        "fixed": (
            pendulum.datetime(2024, 1, 1, tz=pendulum.timezone(-3 * 3600)),  # an int: a fixed offset
            pendulum.datetime(2024, 1, 1, tz=pendulum.timezone(-3 * 3600)),
        ),
        "date": (pendulum.date(2024, 1, 2), dt.date(2024, 1, 2)),
        "duration": (pendulum.duration(days=2, seconds=1), dt.timedelta(days=2, seconds=1)),
    }[kind]
    got = roundtrip_value(carrier, sent)
    assert type(got) is type(expected)
    assert_same(got, expected)


def test_msgpack_carries_integer_keys() -> None:
    value = {1: "a", -(2**63): "b", 2**64 - 1: "c", "s": {2: (3,)}}
    assert_same(roundtrip_value(MSGPACK, value), value)


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_context_datetimes_and_any_fields(carrier: Carrier) -> None:
    pendulum = pytest.importorskip("pendulum")
    logical = pendulum.datetime(2024, 6, 1, 3, tz="Europe/Paris")
    req = IsolationRequest(
        schema=SCHEMA_VERSION,
        task=OperatorSpec(
            class_path="a.B", kwargs={"sql": "select 1", "params": (1, 2)}, template_fields_rendered=True
        ),
        context=context(
            logical_date=logical,
            data_interval_start=dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc),
            data_interval_end=SUMMER,
            start_date=None,
            ds="2024-06-01",
            params={"day": dt.date(2024, 6, 1), "ids": {1, 2}},
            dag_run_conf={"window": dt.timedelta(hours=1)},
            upstream_xcoms={"extract": (1, decimal.Decimal("2.50"))},
            try_number=2,
            map_index=3,
        ),
        connections=[ConnectionSpec(conn_id="db", conn_type="postgres", host="h", port=5432, password="pw")],
        variables={"v": "1"},
        secrets_to_mask=["pw"],
        options=RunOptions(skip_exit_code=42, log_level="DEBUG"),
    )
    got = carrier.decode_request(carrier.encode(req))
    # the typed datetime fields carry the instant (msgspec's native encoding), not the zone name
    assert got.context.logical_date == logical
    assert got.context.data_interval_start == req.context.data_interval_start
    assert got.context.data_interval_end == SUMMER
    assert got.context.start_date is None
    assert_same(got.context.params, {"day": dt.date(2024, 6, 1), "ids": {1, 2}})
    assert_same(got.context.dag_run_conf, {"window": dt.timedelta(hours=1)})
    assert_same(got.context.upstream_xcoms, {"extract": (1, decimal.Decimal("2.50"))})
    assert_same(got.task.kwargs, {"sql": "select 1", "params": (1, 2)})
    assert (got.context.try_number, got.context.map_index, got.context.ds) == (2, 3, "2024-06-01")
    assert got.connections == req.connections
    assert (got.variables, got.secrets_to_mask, got.options) == (
        req.variables,
        req.secrets_to_mask,
        req.options,
    )


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
@pytest.mark.parametrize("status", ["success", "skipped", "failed"])
def test_result_fields(carrier: Carrier, status: str) -> None:
    res = IsolationResult(
        schema=SCHEMA_VERSION,
        status=status,  # type: ignore[arg-type]
        return_value={"rows": (1, 2)},
        xcom_pushes=[XComPush("a", {1, 2}), XComPush("b", None)],
        branch=["t1", "t2"] if status == "success" else None,
        error=ErrorInfo("ValueError", "boom ✗", "Traceback...") if status == "failed" else None,
        timings=Timings(decode=0.1, setup=0.2, execute=0.3, total=0.6),
        target_airflow_version="2.10.5",
        target_python_version="3.9.18",
    )
    got = carrier.decode_result(carrier.encode(res))
    assert got.status == status
    assert_same(got.return_value, {"rows": (1, 2)})
    assert [p.key for p in got.xcom_pushes] == ["a", "b"]
    assert_same([p.value for p in got.xcom_pushes], [{1, 2}, None])
    assert (got.branch, got.error, got.timings) == (res.branch, res.error, res.timings)
    assert (got.target_airflow_version, got.target_python_version) == ("2.10.5", "3.9.18")


def test_encoding_does_not_mutate_the_message() -> None:
    kwargs = {"t": (1, 2), "s": {1}}
    req = IsolationRequest(schema=SCHEMA_VERSION, task=OperatorSpec("a.B", kwargs), context=context())
    for carrier in CARRIERS:
        carrier.encode(req)
    assert req.task.kwargs is kwargs
    assert kwargs == {"t": (1, 2), "s": {1}}


def test_callable_spec_task_roundtrip() -> None:
    spec = CallableSpec(
        name="f",
        source="def f(a):\n    return a\n",
        args=[(1, 2)],
        kwargs={"d": WINTER},
        multiple_outputs=True,
    )
    for carrier in CARRIERS:
        req = IsolationRequest(schema=SCHEMA_VERSION, task=spec, context=context())
        got = carrier.decode_request(carrier.encode(req)).task
        assert isinstance(got, CallableSpec)
        assert (got.name, got.source, got.import_path, got.pickled, got.multiple_outputs) == (
            "f",
            spec.source,
            None,
            None,
            True,
        )
        assert_same(got.args, [(1, 2)])
        assert_same(got.kwargs, {"d": WINTER})


def test_json_is_plain_utf8_json() -> None:
    data = JSON.encode(result({"t": (1,), "s": "日本"}))
    decoded = json.loads(data.decode("utf-8"))
    assert decoded["status"] == "success"
    assert decoded["return_value"]["s"] == "日本"
    assert list(decoded["return_value"]["t"]) == ["__isolation_ext__"]
    code, payload = decoded["return_value"]["t"]["__isolation_ext__"]
    assert code == 5  # EXT_TUPLE: a msgpack payload, base64 in JSON
    assert msgspec.msgpack.decode(base64.b64decode(payload)) == [1]


# --- property test -------------------------------------------------------------------------------

_OFFSETS = st.builds(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)), st.integers(-23 * 60 - 59, 23 * 60 + 59)
)
_ZONES: st.SearchStrategy[Optional[dt.tzinfo]] = (
    st.none()
    | st.just(dt.timezone.utc)
    | _OFFSETS
    | st.sampled_from(
        [
            ZoneInfo(name)
            for name in ("Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC")
        ]
    )
)
_DATETIMES = st.datetimes(
    min_value=dt.datetime(1970, 1, 2),
    max_value=dt.datetime(2200, 1, 1),
    timezones=_ZONES,  # type: ignore[arg-type]
)
_HASHABLE_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.text(max_size=8)
    | st.binary(max_size=8)
    | st.uuids()
    | st.dates()
    | st.timedeltas()
    | st.times(timezones=st.none() | st.just(dt.timezone.utc) | _OFFSETS)
)
_SCALARS = (
    _HASHABLE_SCALARS
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | _DATETIMES
)
_HASHABLE = st.recursive(
    _HASHABLE_SCALARS, lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3), max_leaves=6
)
_KEYS = st.text(max_size=10).filter(lambda k: k != "__isolation_ext__")


def _values(keys: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        _SCALARS | _HASHABLE,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.lists(inner, max_size=4).map(tuple)
            | st.dictionaries(keys, inner, max_size=4)
            | st.sets(_HASHABLE, max_size=4)
            | st.frozensets(_HASHABLE, max_size=4)
        ),
        max_leaves=20,
    )


_PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY_SETTINGS
@given(_values(_KEYS))
def test_property_json(value: Any) -> None:
    assert_same(roundtrip_value(JSON, value), value)


@_PROPERTY_SETTINGS
@given(_values(_KEYS | st.integers(min_value=-(2**63), max_value=2**64 - 1)))
def test_property_msgpack(value: Any) -> None:
    assert_same(roundtrip_value(MSGPACK, value), value)

"""Values that cannot cross the boundary fail on the host, naming the exact path, the type and a fix."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from core_test_support import CARRIERS, JSON, MSGPACK, Carrier, request, result

from airflow_isolation.core import IsolationError, ValueEncodeError, XComPush
from airflow_isolation.core.values import Lowerer


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_unsupported_value_names_path_type_and_hint(carrier: Carrier) -> None:
    kwargs = {"a": {"b": [1, 2, threading.Lock()]}}
    with pytest.raises(ValueEncodeError) as info:
        carrier.encode(request(kwargs))
    error = info.value
    message = str(error)
    assert "kwargs['a']['b'][2]" in message
    assert message.startswith("kwargs['a']['b'][2]: cannot send a value of type _thread.lock")
    assert "convert it" in message  # the hint
    assert error.path == "kwargs['a']['b'][2]"
    assert error.value_type == "_thread.lock"
    assert isinstance(error, IsolationError)
    assert isinstance(error, TypeError)  # code catching msgspec's TypeError keeps working


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
@pytest.mark.parametrize(
    ("build", "path"),
    [
        (lambda bad: result(return_value={"x": (1, bad)}), "return_value['x'][1]"),
        (lambda bad: result(xcom_pushes=[XComPush("key", [bad])]), "xcom['key'][0]"),
        (lambda bad: request(params={"p": [bad]}), "params['p'][0]"),
        (lambda bad: request(dag_run_conf={"c": bad}), "dag_run.conf['c']"),
        (lambda bad: request(upstream_xcoms={"up": {"k": bad}}), "upstream_xcoms['up']['k']"),
    ],
    ids=["return_value", "xcom", "params", "dag_run_conf", "upstream_xcoms"],
)
def test_path_in_every_any_field(carrier: Carrier, build: Any, path: str) -> None:
    with pytest.raises(ValueEncodeError, match=r"^" + path.replace("[", r"\[").replace("]", r"\]") + ": "):
        carrier.encode(build(object()))


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_a_result_value_is_sent_to_the_host_not_the_target(carrier: Carrier) -> None:
    with pytest.raises(ValueEncodeError) as info:
        carrier.encode(result(return_value={"x": threading.Lock()}))
    assert "cannot send a value of type _thread.lock to the host: " in str(info.value)
    assert info.value.path == "return_value['x']"
    with pytest.raises(ValueEncodeError, match="to the target: "):
        carrier.encode(request({"x": threading.Lock()}))


def test_paths_through_namedtuple_set_and_dataclass() -> None:
    from collections import namedtuple
    from dataclasses import dataclass

    P = namedtuple("P", "field")

    @dataclass
    class D:
        attr: Any

    low = Lowerer()
    with pytest.raises(ValueEncodeError, match=r"^v\.field\['x'\]: "):
        low.lower(P({"x": object()}), "v")
    with pytest.raises(ValueEncodeError, match=r"^v\{\}\[0\]: "):
        low.lower({(object(),)}, "v")
    with pytest.raises(ValueEncodeError, match=r"^v\['attr'\]: "):
        low.lower(D(object()), "v")


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 10**30, -(10**30)])
def test_int_beyond_64_bits(carrier: Carrier, value: int) -> None:
    with pytest.raises(ValueEncodeError) as info:
        carrier.encode(request({"n": [value]}))
    assert str(info.value).startswith("kwargs['n'][0]: cannot send a value of type builtins.int")
    assert "64 bits" in str(info.value)
    assert "string" in str(info.value)


def test_int_key_beyond_64_bits() -> None:
    with pytest.raises(ValueEncodeError, match="64 bits"):
        MSGPACK.encode(request({"d": {2**64: 1}}))


@pytest.mark.parametrize("key", [1, None, 1.5, (1, 2), True])
def test_non_string_keys_refused_by_json_carrier(key: Any) -> None:
    with pytest.raises(ValueEncodeError) as info:
        JSON.encode(result({"nested": {key: "v"}}))
    assert str(info.value).startswith("return_value['nested']: ")
    assert "string keys" in str(info.value)


@pytest.mark.parametrize("key", [None, 1.5, (1, 2), True, frozenset()])
def test_keys_that_are_neither_str_nor_int_refused_by_msgpack(key: Any) -> None:
    with pytest.raises(ValueEncodeError) as info:
        MSGPACK.encode(result({"nested": {key: "v"}}))
    assert str(info.value).startswith("return_value['nested'] key: ")
    assert "keys must be strings or integers" in str(info.value)


def test_reserved_json_key_refused() -> None:
    """A user dict shaped like the JSON carrier's extension wrapper would be misread on the other side."""
    value = {"__isolation_ext__": [5, "kQ=="]}
    with pytest.raises(ValueEncodeError, match="reserved"):
        JSON.encode(result(value))
    assert MSGPACK.decode_result(MSGPACK.encode(result(value))).return_value == value


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
@pytest.mark.parametrize("value", [print, object, lambda: None, threading.Lock().acquire])
def test_callable_without_hook(carrier: Carrier, value: Any) -> None:
    with pytest.raises(
        ValueEncodeError, match=r"^kwargs\['cb'\]: cannot send a value of type .*python_callable"
    ):
        carrier.encode(request({"cb": value}))


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_an_unsendable_upstream_xcom_can_be_left_out(carrier: Carrier) -> None:
    """With an ``unsendable_xcom`` hook, the XCom is dropped and reported; the rest still travels."""
    left_out: list[tuple[str, str]] = []
    msg = request(upstream_xcoms={"good": {"n": (1, 2)}, "bad": {"k": threading.Lock()}, "none": None})
    data = carrier.encode(msg, unsendable_xcom=lambda task_id, exc: left_out.append((task_id, exc.path)))
    assert left_out == [("bad", "upstream_xcoms['bad']['k']")]
    assert carrier.decode_request(data).context.upstream_xcoms == {"good": {"n": (1, 2)}, "none": None}

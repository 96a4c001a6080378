from __future__ import annotations

import pytest

from airflow_isolation.core import ValueEncodeError
from airflow_isolation.operator.shipping.callable_source import callable_spec


def decorator(fn):  # type: ignore[no-untyped-def]
    return fn


@decorator
def top_level(x: int) -> int:
    # a comment that must survive
    return x + 1


def test_decorators_are_stripped_and_source_kept_verbatim() -> None:
    spec = callable_spec(top_level)
    assert spec.name == "top_level"
    assert spec.source is not None
    assert spec.source.startswith("def top_level(x: int) -> int:")
    assert "# a comment that must survive" in spec.source
    assert "@decorator" not in spec.source


def test_nested_function_is_dedented() -> None:
    def inner(a, b):  # type: ignore[no-untyped-def]
        return a * b

    spec = callable_spec(inner)
    assert spec.source is not None and spec.source.startswith("def inner(a, b):")
    namespace: dict = {}
    exec(spec.source, namespace)
    assert namespace["inner"](3, 4) == 12


def test_import_path_string() -> None:
    spec = callable_spec("json:dumps")  # type: ignore[arg-type]
    assert spec.import_path == "json:dumps" and spec.source is None


@pytest.mark.parametrize("bad", [lambda: 1, len, 42])
def test_unshippable_callables(bad: object) -> None:
    with pytest.raises(ValueEncodeError):
        callable_spec(bad)  # type: ignore[arg-type]

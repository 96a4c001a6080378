"""The parse-time type check judges only what it understands and lets the rest through."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Union

import pytest

from airflow_isolation.operator.parse.kwarg_types import check_kwarg_types


class Op:
    template_fields = ("command",)

    def __init__(  # noqa: PLR0917 - the shapes of annotation under test
        self,
        command: str,
        env: dict[str, str] | None = None,
        retries_: int = 0,
        ratio: float = 1.0,
        tags: Optional[List[str]] = None,
        params_: Union[Mapping[str, Any], None] = None,
        anything: Any = None,
        custom: SomeProtocol | None = None,  # noqa: F821 - a name only type checkers know
        flag: bool = False,
        untyped=None,
    ):
        pass


class Child(Op):
    def __init__(self, extra: int | ArgNotSet = 0, **kwargs: Any):  # noqa: F821
        super().__init__(**kwargs)


def check(cls: type, **kwargs: Any) -> None:
    check_kwarg_types(cls, kwargs, cls.template_fields, "IsolatedOperator 't'", cls.__name__)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"command": "ls", "env": {"A": "1"}, "retries_": 2, "ratio": 2, "tags": ["a"], "params_": {"x": 1}},
        {"command": "{{ params.cmd }}"},
        {"anything": 5, "custom": 5, "untyped": "x", "env": None, "tags": None},
        {"retries_": True},  # a bool is an int
    ],
)
def test_accepted(kwargs: Dict[str, Any]) -> None:
    check(Op, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"command": 5}, "command=5 has type int, but Op declares command: str"),
        ({"env": "A=1"}, "declares env: dict[str, str] | None"),
        ({"tags": "a"}, "declares tags: Optional[List[str]]"),
        ({"params_": [1]}, "params_=[1] has type list"),
        ({"ratio": "1.5"}, "ratio='1.5' has type str"),
        ({"flag": "yes"}, "flag='yes' has type str"),
    ],
)
def test_refused(kwargs: Dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message.replace("[", r"\[").replace("|", r"\|")):
        check(Op, **kwargs)


def test_inherited_parameters_and_sentinel_alternatives() -> None:
    check(Child, extra=3, command="ls")
    with pytest.raises(TypeError, match="extra='3' has type str"):
        check(Child, extra="3", command="ls")
    with pytest.raises(TypeError, match="command=1"):
        check(Child, command=1)

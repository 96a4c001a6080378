"""Reading constructor parameters over the MRO, the one walk the host's parse-time checks share."""

from __future__ import annotations

from typing import Any, Optional

from airflow_isolation.operator.parse.signature import (
    constructor_params,
    default_conn_ids,
    init_signatures,
    parameter_annotation,
)


class _Base:
    def __init__(self, *, task_id: str, base_conn_id: str = "base_default", retries: int = 0, **kwargs: Any):
        pass


class _Child(_Base):
    def __init__(self, command: str, *args: Any, env: Optional[dict] = None, **kwargs: Any):  # type: ignore[type-arg]
        super().__init__(**kwargs)


class _Grandchild(_Child):
    pass


def test_only_classes_defining_init_are_walked_nearest_first() -> None:
    assert [klass for klass, _ in init_signatures(_Grandchild)] == [_Child, _Base]


def test_accepted_names_span_the_mro_and_required_ones_come_from_the_class_itself() -> None:
    accepted, required = constructor_params(_Child)
    assert accepted == {"command", "env", "task_id", "base_conn_id", "retries"}
    assert required == {"command"}, "task_id is required by the base, which the wrapper passes itself"
    assert constructor_params(_Grandchild)[1] == set(), "a class without its own __init__ requires nothing"


def test_annotation_comes_from_the_nearest_declaration_as_text() -> None:
    assert parameter_annotation(_Child, "retries") == "int"
    assert parameter_annotation(_Child, "env") == "Optional[dict]"
    assert parameter_annotation(_Child, "nope") is None


def test_conn_id_defaults_of_parameters_not_given() -> None:
    assert default_conn_ids(_Child, {}) == ["base_default"]
    assert default_conn_ids(_Child, {"base_conn_id": "mine"}) == []

"""The IsolatedOperator's own pieces that need no backend."""

from __future__ import annotations

from airflow_isolation.operator.operator import split_base_kwargs


def test_base_operator_kwargs_stay_on_the_host() -> None:
    base, inner = split_base_kwargs(
        {"task_id": "t", "retries": 2, "pool": "p", "bash_command": "ls", "env": {}}
    )
    assert base == {"task_id": "t", "retries": 2, "pool": "p"}
    assert inner == {"bash_command": "ls", "env": {}}

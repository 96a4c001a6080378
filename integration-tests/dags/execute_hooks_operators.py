"""An operator whose ``pre_execute`` and ``post_execute`` leave traces, importable natively and
shipped to isolated targets (Airflow 3 and 2.10) from this DAG folder.

``pre_execute`` pushes an XCom and starts the list of steps ``execute`` needs (without it,
``execute`` fails); ``post_execute`` pushes the steps and the result it was given, which differs
by Airflow version (3.x passes none, 2.x the return value)."""

from __future__ import annotations

from typing import Any, List

try:
    from airflow.sdk import BaseOperator
except ImportError:  # Airflow 2
    from airflow.models.baseoperator import BaseOperator

RETURNED = "executed"


class StepsOperator(BaseOperator):
    def __init__(self, *, fail: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail = fail
        self.steps: List[str] = []

    def pre_execute(self, context: Any) -> None:
        context["ti"].xcom_push(key="pre", value="pre_execute ran")
        self.steps = ["pre_execute"]

    def execute(self, context: Any) -> str:
        if self.steps != ["pre_execute"]:
            raise RuntimeError(f"execute ran after {self.steps}, not after pre_execute alone")
        self.steps.append("execute")
        if self.fail:
            raise ValueError("execute failed on purpose")
        return RETURNED

    def post_execute(self, context: Any, result: Any = None) -> None:
        self.steps.append("post_execute")
        context["ti"].xcom_push(key="post", value={"steps": self.steps, "result": result})

"""Operators and triggers tests run in the target (imported there by class path: the tests put
this folder on the target's ``PYTHONPATH``)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, AsyncIterator, Dict, List, Tuple

from airflow.providers.standard.utils.skipmixin import SkipMixin
from airflow.sdk import BaseOperator
from airflow.triggers.base import BaseTrigger, TriggerEvent


class EchoTrigger(BaseTrigger):
    """Fires at once with its ``payload``, after ``delay`` seconds."""

    def __init__(self, payload: Any, delay: float = 0.0):
        super().__init__()
        self.payload = payload
        self.delay = delay

    def serialize(self) -> Tuple[str, Dict[str, Any]]:
        return f"{__name__}.EchoTrigger", {"payload": self.payload, "delay": self.delay}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(self.delay)
        yield TriggerEvent(self.payload)


class DefersTwice(BaseOperator):
    """Defers, resumes in ``step``, defers again, then returns every event it saw."""

    def execute(self, context: Any) -> Any:
        print("execute: deferring the first time", flush=True)
        self.defer(trigger=EchoTrigger("first"), method_name="step", kwargs={"seen": []})

    def step(self, context: Any, seen: List[Any], event: Any = None) -> Any:
        seen = [*seen, event]
        if len(seen) < 2:
            self.defer(trigger=EchoTrigger({"n": 2}, delay=0.2), method_name="step", kwargs={"seen": seen})
        return {"seen": seen, "ti_task": context["ti"].task_id}


class DefersForever(BaseOperator):
    """Defers to a trigger slower than the deferral's timeout."""

    def execute(self, context: Any) -> Any:
        self.defer(
            trigger=EchoTrigger("late", delay=60),
            method_name="never",
            timeout=dt.timedelta(seconds=0.5),
        )

    def never(self, context: Any, event: Any = None) -> Any:
        raise AssertionError("resumed although the trigger timed out")


class SkipsAllExcept(BaseOperator, SkipMixin):
    """Calls ``skip_all_except`` itself, as custom branching operators do."""

    def execute(self, context: Any) -> Any:
        self.skip_all_except(context["ti"], "a")
        return "done"


class RecordsSteps(BaseOperator):
    """Pushes each step as it runs: ``pre_execute`` and ``post_execute`` overridden, and ``execute``
    deferring once (``defers``) or failing (``fail``)."""

    def __init__(self, *, defers: bool = False, fail: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.defers = defers
        self.fail = fail
        self.steps: List[str] = []

    def _step(self, context: Any, name: str) -> None:
        self.steps.append(name)
        context["ti"].xcom_push(key="steps", value=list(self.steps))

    def pre_execute(self, context: Any) -> None:
        self._step(context, "pre_execute")

    def execute(self, context: Any) -> Any:
        self._step(context, "execute")
        if self.fail:
            raise ValueError("execute failed on purpose")
        if self.defers:
            self.defer(trigger=EchoTrigger("fired"), method_name="resumed")
        return "done"

    def resumed(self, context: Any, event: Any = None) -> Any:
        self._step(context, "resumed")
        return "done"

    def post_execute(self, context: Any, result: Any = None) -> None:
        self._step(context, f"post_execute(result={result!r})")

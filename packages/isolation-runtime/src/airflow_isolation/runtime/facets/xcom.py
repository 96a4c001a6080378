"""XComs in the target: what ``ti.xcom_push`` records for the host to replay, and what
``ti.xcom_pull`` can see: the return values of direct upstream tasks the host shipped, this run's
own pushes, and, when the host opened its channel (``facets/host_channel.py``), any other XCom,
asked of the host's Airflow. Without the channel anything else fails with an error naming the way
around it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, Iterable, List, Optional, Union

from airflow_isolation.core import TaskContext, XComPush
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.runtime.facets.base import TargetFacet

if TYPE_CHECKING:
    from airflow_isolation.runtime.task.outcome import Outcome

RETURN_VALUE_KEY = "return_value"


class XComNotShippedError(KeyError):
    """An XCom the isolated task cannot see."""

    def __str__(self) -> str:
        return str(self.args[0])


class XComRecorder:
    def __init__(self) -> None:
        self.pushes: List[XComPush] = []
        self.refusal: Optional[Callable[[str], BaseException]] = None
        """What a push raises instead of being recorded, when the task turned pushes off."""
        self.fallback: Optional[Callable[[str, str, str, str], Any]] = None
        """``(dag_id, run_id, task_id, key)`` of an XCom the request did not carry, asked of the host."""

    def push(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key:
            raise ValueError(f"xcom_push needs a non-empty string key, got {key!r}")
        if self.refusal is not None:
            raise self.refusal(key)
        self.pushes.append(XComPush(key, value))

    def latest(self, key: str) -> Any:
        for push in reversed(self.pushes):
            if push.key == key:
                return push.value
        raise KeyError(key)

    def pull(
        self,
        ctx: TaskContext,
        task_ids: Optional[Union[str, Iterable[str]]],
        dag_id: Optional[str],
        key: str,
        default: Any,
        *,
        run_id: Optional[str] = None,
    ) -> Any:
        """``ti.xcom_pull`` of the task ``ctx`` describes."""
        elsewhere = dag_id not in (None, ctx.dag_id) or run_id not in (None, ctx.run_id)
        if elsewhere:
            if self.fallback is None:
                where = f"dag {dag_id!r}" if dag_id not in (None, ctx.dag_id) else f"run {run_id!r}"
                raise XComNotShippedError(_not_shipped(ctx, where, key))
            other, run = str(dag_id or ctx.dag_id), str(run_id or ctx.run_id)
            if task_ids is None or isinstance(task_ids, str):
                return self._asked(other, task_ids or ctx.task_id, key, run)
            return [self._asked(other, t, key, run) for t in task_ids]
        if task_ids is None or isinstance(task_ids, str):
            return self._pull_one(ctx, task_ids or ctx.task_id, key, default)
        return [self._pull_one(ctx, t, key, default) for t in task_ids]

    def _pull_one(self, ctx: TaskContext, task_id: str, key: str, default: Any) -> Any:
        if task_id == ctx.task_id:
            try:
                return self.latest(key)
            except KeyError:  # a try starts with its own XComs cleared, natively too
                return default
        if key == RETURN_VALUE_KEY and task_id in ctx.upstream_xcoms:
            value = ctx.upstream_xcoms[task_id]
            return default if value is None else value
        if self.fallback is None:
            raise XComNotShippedError(_not_shipped(ctx, f"task {task_id!r}", key))
        return self._asked(ctx.dag_id, task_id, key, ctx.run_id)

    def _asked(self, dag_id: str, task_id: str, key: str, run_id: str) -> Any:
        """As Airflow 3 pulls without ``map_indexes``: a missing XCom is ``None``, not ``default``."""
        assert self.fallback is not None
        return self.fallback(dag_id, run_id, task_id, key)


def _not_shipped(ctx: TaskContext, source: str, key: str) -> str:
    shipped = ", ".join(sorted(ctx.upstream_xcoms)) or "none"
    return (
        f"xcom_pull of key {key!r} from {source} is not available in an isolated task: only the "
        f"return values of direct upstream tasks are shipped ({shipped}). Pass the value as a "
        "templated argument instead, e.g. op_kwargs={'x': \"{{ ti.xcom_pull(task_ids='...', "
        "key='...') }}\"}, or make that task a direct upstream."
    )


class XComFacet(TargetFacet):
    """Pushes travel back whichever way the task ended, as Airflow keeps a failed task's XComs."""

    facet: ClassVar[Facet] = BY_NAME["xcom"]

    def collect(self, outcome: Outcome) -> Dict[str, Any]:
        return {"xcom_pushes": self.run.xcoms.pushes}

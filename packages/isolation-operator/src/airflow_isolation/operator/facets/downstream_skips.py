"""Downstream skips decided in the target (``ShortCircuitOperator``, ``SkipMixin.skip``,
``DownstreamTasksSkipped``): the host ships the task's relatives, which the rebuilt operator has no
DAG to read, and skips what it skipped with its own Airflow."""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Tuple

from airflow_isolation.core import CallableSpec, IsolationRequest, IsolationResult
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.facets.base import Fields, HostFacet, HostTask
from airflow_isolation.operator.facets.branch import in_mro


def _downstream(task: Any) -> Tuple[List[str], List[str], List[str]]:
    """Direct downstream ids, all downstream ids and the teardowns among them: what the rebuilt
    operator's skip logic reads from a DAG it does not have in the target."""
    if task is None or not getattr(task, "has_dag", lambda: False)():
        return [], [], []
    flat = sorted(task.get_flat_relatives(upstream=False), key=lambda t: t.task_id)
    return (
        sorted(task.downstream_task_ids),
        [t.task_id for t in flat],
        [t.task_id for t in flat if getattr(t, "is_teardown", False)],
    )


def can_skip(task: HostTask) -> bool:
    """A ``SkipMixin`` that is no branch operator (a branch's skips travel as its choice, which
    every runtime carries), an operator the host cannot judge, or a callable whose source raises
    ``DownstreamTasksSkipped`` (a callable has no ``skip`` method; one imported by path is not read:
    refusing every such callable on an older runtime would break tasks that skip nothing)."""
    if task.wrapped_class is not None:
        return in_mro(task.wrapped_class, "SkipMixin") and not in_mro(task.wrapped_class, "BranchMixIn")
    if task.unknown_class:
        return True
    spec = task.spec
    return isinstance(spec, CallableSpec) and "DownstreamTasksSkipped" in (spec.source or "")


class DownstreamSkips(HostFacet):
    facet: ClassVar[Facet] = BY_NAME["downstream_skips"]

    def needed(self, task: HostTask, request: IsolationRequest) -> bool:
        return can_skip(task)

    def context_fields(self, task: HostTask) -> Fields:
        direct, flat, teardowns = _downstream(task.context.get("task"))
        return {
            "downstream_task_ids": direct,
            "flat_downstream_task_ids": flat,
            "downstream_teardown_ids": teardowns,
        }

    def succeeded(self, operator: Any, context: Dict[str, Any], result: IsolationResult) -> None:
        if result.skip_downstream:
            skip_downstream(operator, context, result.skip_downstream)


def skip_downstream(operator: Any, context: Dict[str, Any], task_ids: List[str]) -> None:
    """Skip what the task skipped in the target, with the host's ``SkipMixin.skip``: on Airflow 3
    it raises ``DownstreamTasksSkipped`` for the task runner (the task succeeds, without a return
    value, as natively); on Airflow 2 it writes the states to the database and the task goes on."""
    dag = operator.dag
    tasks = [dag.get_task(task_id) for task_id in task_ids if dag.has_task(task_id)]
    if not tasks:
        return
    ti = context["ti"]
    if airflow_compat.AIRFLOW_MAJOR >= 3:
        operator.skip(ti=ti, tasks=tasks)
        return
    dag_run = context["dag_run"]
    operator.skip(dag_run=dag_run, execution_date=dag_run.execution_date, tasks=tasks, map_index=ti.map_index)

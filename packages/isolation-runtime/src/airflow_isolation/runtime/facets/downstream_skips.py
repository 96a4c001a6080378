"""Downstream skips of an operator that was rebuilt without its DAG.

Natively ``ShortCircuitOperator`` reads its relatives from the DAG (``downstream_task_ids``,
``get_direct_relatives``, ``get_flat_relatives``) and ``SkipMixin.skip`` writes the skipped states
(Airflow 2: the database; Airflow 3: ``DownstreamTasksSkipped`` for the task runner). In the target
the operator is given stand-ins for its relatives from the ids the host shipped, and its ``skip``
records the ids for the host, which skips them with its own Airflow. ``skip_all_except`` is a
branch: the branch facet records it, and the host applies it with its ``do_branch``.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Collection, Dict, Iterable, List, Optional

from airflow_isolation.core import TaskContext
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.runtime.facets.base import TargetFacet
from airflow_isolation.runtime.task import airflow_compat
from airflow_isolation.runtime.task.outcome import is_a

if TYPE_CHECKING:
    from airflow_isolation.runtime.task.outcome import Outcome
    from airflow_isolation.runtime.task.run import TaskRun


class DownstreamTask:
    """What skip logic reads of a downstream task: its id, and whether it is a teardown."""

    def __init__(self, task_id: str, is_teardown: bool):
        self.task_id = task_id
        self.node_id = task_id
        self.is_teardown = is_teardown

    def __repr__(self) -> str:
        return f"<Task({self.task_id}) downstream, shipped by the host>"


def task_ids(tasks: Any) -> List[str]:
    """Task ids out of tasks, ids or ``(task_id, map_index)`` pairs, as skip calls accept them."""
    if tasks is None:
        return []
    if isinstance(tasks, (str, tuple)):
        tasks = [tasks]
    ids: List[str] = []
    for task in tasks:
        if isinstance(task, str):
            ids.append(task)
        elif isinstance(task, tuple) and task:
            ids.append(str(task[0]))
        else:
            ids.append(str(getattr(task, "task_id", task)))
    return ids


class SkipRecorder:
    """The downstream ids the task skipped, in order, once each."""

    def __init__(self) -> None:
        self.skipped: List[str] = []

    def add(self, ids: Iterable[str]) -> None:
        self.skipped.extend(i for i in ids if i not in self.skipped)

    def result(self) -> Optional[List[str]]:
        return list(self.skipped) if self.skipped else None


def give_downstream(operator: Any, ctx: TaskContext) -> None:
    """Let ``operator`` see the downstream tasks of its task in the host's DAG."""
    teardowns = set(ctx.downstream_teardown_ids)
    direct = [DownstreamTask(t, t in teardowns) for t in ctx.downstream_task_ids]
    flat = [DownstreamTask(t, t in teardowns) for t in ctx.flat_downstream_task_ids]

    def get_direct_relatives(upstream: bool = False) -> Collection[DownstreamTask]:
        return [] if upstream else list(direct)

    def get_flat_relatives(upstream: bool = False, depth: Optional[int] = None) -> Collection[DownstreamTask]:
        return [] if upstream or depth is not None else list(flat)

    def get_flat_relative_ids(upstream: bool = False, depth: Optional[int] = None) -> set[str]:
        return {t.task_id for t in get_flat_relatives(upstream, depth)}

    object.__setattr__(operator, "downstream_task_ids", set(ctx.downstream_task_ids))
    object.__setattr__(operator, "get_direct_relatives", get_direct_relatives)
    object.__setattr__(operator, "get_flat_relatives", get_flat_relatives)
    object.__setattr__(operator, "get_flat_relative_ids", get_flat_relative_ids)


def intercept_skip(
    operator: Any,
    recorder: SkipRecorder,
    raise_skipped: Optional[Callable[[List[str]], BaseException]],
    map_index: int,
) -> None:
    """Replace ``operator.skip`` (any ``SkipMixin``) by a recorder.

    ``raise_skipped`` builds the target's ``DownstreamTasksSkipped`` on Airflow 3, where ``skip``
    ends the task with it (only for an unmapped task, as ``SkipMixin._set_state_to_skipped`` does);
    on Airflow 2 ``skip`` returns and the task goes on, as it does after the database write.
    """
    original = getattr(operator, "skip", None)
    if not callable(original):
        return
    try:
        signature: Optional[inspect.Signature] = inspect.signature(original)
    except (TypeError, ValueError):
        signature = None

    def skip(*args: Any, **kwargs: Any) -> None:
        tasks = kwargs.get("tasks")
        if tasks is None and signature is not None:
            tasks = signature.bind_partial(*args, **kwargs).arguments.get("tasks")
        ids = task_ids(tasks)
        recorder.add(ids)
        if ids and raise_skipped is not None and map_index == -1:
            raise raise_skipped(ids)

    object.__setattr__(operator, "skip", skip)


def skipped_by(exc: BaseException) -> Optional[List[str]]:
    """The ids an Airflow 3 ``DownstreamTasksSkipped`` carries, or None for another exception."""
    if not is_a(exc, "DownstreamTasksSkipped"):
        return None
    return task_ids(getattr(exc, "tasks", None))


class DownstreamSkipsFacet(TargetFacet):
    facet: ClassVar[Facet] = BY_NAME["downstream_skips"]

    def __init__(self, run: TaskRun) -> None:
        super().__init__(run)
        self.recorder = SkipRecorder()

    def install(self) -> None:
        operator, ctx = self.run.operator, self.run.request.context
        if operator is None or self.run.airflow is None:
            return
        give_downstream(operator, ctx)
        raise_skipped = airflow_compat.downstream_tasks_skipped(self.run.airflow)
        intercept_skip(operator, self.recorder, raise_skipped, ctx.map_index)

    def ended(self, exc: BaseException) -> Optional[BaseException]:
        """Airflow 3: ``DownstreamTasksSkipped`` means the task succeeded and skips these."""
        skipped = skipped_by(exc)
        if skipped is None:
            return exc
        self.recorder.add(skipped)
        return None

    def collect(self, outcome: Outcome) -> Dict[str, Any]:
        return {"skip_downstream": self.recorder.result()} if outcome.succeeded else {}

"""Branching in the target: the chosen task ids travel back for the host to follow.

Natively a branch operator's ``do_branch`` (and ``SkipMixin.skip_all_except``) skips the tasks not
chosen through the database; here both are intercepted, and the host applies the choice with its
own ``do_branch``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Dict, List, Optional

from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.runtime.facets.base import TargetFacet

if TYPE_CHECKING:
    from airflow_isolation.runtime.task.outcome import Outcome
    from airflow_isolation.runtime.task.run import TaskRun


class BranchRecorder:
    def __init__(self) -> None:
        self.branch: Optional[List[str]] = None

    def __call__(self, context: Any, branches_to_execute: Any) -> Any:
        self.branch = normalise_branch(branches_to_execute)
        return branches_to_execute


def normalise_branch(branches: Any) -> List[str]:
    if branches is None:
        return []
    if isinstance(branches, str):
        return [branches]
    return [str(b) for b in branches]


def intercept_branch(operator: Any, recorder: BranchRecorder) -> None:
    """Route ``operator``'s ``do_branch`` and ``skip_all_except(ti, branch_task_ids)`` (a branch too)
    to ``recorder``."""
    if callable(getattr(operator, "do_branch", None)):
        object.__setattr__(operator, "do_branch", recorder)
    if not callable(getattr(operator, "skip_all_except", None)):
        return

    def skip_all_except(ti: Any, branch_task_ids: Any) -> None:
        recorder(None, branch_task_ids)

    object.__setattr__(operator, "skip_all_except", skip_all_except)


class BranchFacet(TargetFacet):
    facet: ClassVar[Facet] = BY_NAME["branch"]

    def __init__(self, run: TaskRun) -> None:
        super().__init__(run)
        self.recorder = BranchRecorder()

    def install(self) -> None:
        if self.run.operator is not None:
            intercept_branch(self.run.operator, self.recorder)

    def collect(self, outcome: Outcome) -> Dict[str, Any]:
        return {"branch": self.recorder.branch} if outcome.succeeded else {}

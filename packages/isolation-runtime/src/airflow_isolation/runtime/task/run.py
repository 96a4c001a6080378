"""One task's run as the runtime and every facet see it, filled in as the run goes."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

from airflow_isolation.core import IsolationRequest
from airflow_isolation.runtime.facets.xcom import XComRecorder
from airflow_isolation.runtime.task.airflow_compat import AirflowInfo


class TaskRun:
    def __init__(self, request: IsolationRequest, log: Callable[[str], None]) -> None:
        self.request = request
        self.log = log
        """Writes the runtime's own lines (``[airflow-isolation] ...`` on stderr)."""
        self.airflow: Optional[AirflowInfo] = None
        """The target's Airflow once the run knows it uses it; ``None`` for a run without."""
        self.xcoms = XComRecorder()
        """What the task instance pushes and pulls; it exists before the task instance does."""
        self.operator: Any = None
        """The rebuilt operator, ``None`` for a callable; set before the facets install."""
        self.context: Dict[str, Any] = {}
        """The task's Airflow context; built before the facets install."""
        self.resume_with: Optional[Tuple[str, Dict[str, Any]]] = None
        """The operator's method and its keyword arguments to resume with instead of ``execute``."""

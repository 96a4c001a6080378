"""What the target may write back to Airflow, and how the rest is refused.

An isolated task has no metadata database and no API server. ``ti.xcom_push`` is recorded and
replayed on the host after success unless the task turned it off; ``Variable.set`` is recorded and
applied on the host after success only when the task opted in (``write_back=[..., "variables"]``),
because a Variable written by a task that later fails would be a write nobody asked for. Everything
else that needs the database (``Variable.delete``, ORM sessions) fails at the call, with the
supported alternative in the message, instead of deep inside SQLAlchemy.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import sys
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, List, Optional

from airflow_isolation.core import RunOptions, VariableWrite
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.runtime.facets.base import TargetFacet

if TYPE_CHECKING:
    from airflow_isolation.runtime.task.outcome import Outcome
    from airflow_isolation.runtime.task.run import TaskRun

_ALTERNATIVES = (
    "Pass what the task reads as arguments (rendered on the host) or ship it with "
    "variables=[...]/connections=[...]; hand results back by returning them or with "
    "context['ti'].xcom_push(...)."
)


class WriteBackRefused(RuntimeError):
    """A write to Airflow's metadata the isolated task may not do, or did not enable."""


def variable_set_refused(key: str) -> str:
    return (
        f"Variable.set({key!r}) cannot run in an isolated task: the target has no Airflow metadata "
        "database. Either return the value and set the Variable in a downstream task on the host, or "
        'enable buffered write-back on this task: IsolatedOperator(..., write_back=["xcom", '
        '"variables"]) (or @task.isolated(write_back=[...])) records the call and applies it on the '
        "host after the task succeeds."
    )


def xcom_push_refused(key: str) -> str:
    return (
        f'ti.xcom_push(key={key!r}) is turned off for this task (its write_back leaves out "xcom"): '
        'return the value instead, or add "xcom" to write_back so pushes are replayed on the host '
        "after the task succeeds."
    )


class VariableWrites:
    """The ``Variable.set`` calls of this run, in order, when the task allows them."""

    def __init__(self, options: RunOptions, shipped: Dict[str, str]):
        self.allowed = options.variable_write_back
        self.writes: List[VariableWrite] = []
        self._shipped = shipped

    def set(
        self, key: str, value: Any, description: Optional[str] = None, serialize_json: bool = False
    ) -> None:
        if not self.allowed:
            raise WriteBackRefused(variable_set_refused(key))
        if not isinstance(key, str) or not key:
            raise ValueError(f"Variable.set needs a non-empty string key, got {key!r}")
        stored = json.dumps(value, indent=2) if serialize_json else str(value)
        self.writes.append(VariableWrite(key, stored, description))
        self._shipped[key] = stored  # a later Variable.get in this run reads its own write


class WriteBackFacet(TargetFacet):
    """Variable writes travel back only after success; refused pushes never reach the recorder."""

    facet: ClassVar[Facet] = BY_NAME["write_back"]

    def __init__(self, run: TaskRun) -> None:
        super().__init__(run)
        options = run.request.options
        self.writes = VariableWrites(options, run.request.variables)
        if not options.xcom_write_back:
            run.xcoms.refusal = lambda key: WriteBackRefused(xcom_push_refused(key))

    def before_airflow(self) -> None:
        install(self.writes)

    def collect(self, outcome: Outcome) -> Dict[str, Any]:
        return {"variable_writes": self.writes.writes} if outcome.succeeded else {}


def install(writes: VariableWrites) -> None:
    """Route Airflow's Variable writes and ORM sessions (Airflow imported) through our rules."""

    def set_variable(
        key: str, value: Any, description: Optional[str] = None, serialize_json: bool = False, **_: Any
    ) -> None:
        writes.set(key, value, description, serialize_json)

    def update_variable(key: str, value: Any, serialize_json: bool = False, **_: Any) -> None:
        writes.set(key, value, None, serialize_json)

    def delete_variable(key: str, *_: Any, **__: Any) -> None:
        raise WriteBackRefused(
            f"Variable.delete({key!r}) cannot run in an isolated task: the target has no Airflow "
            "metadata database, and buffered write-back only applies Variable.set. Delete it in a "
            "downstream task on the host."
        )

    def patch_variable(module: Any) -> None:
        module.Variable.set = staticmethod(set_variable)
        module.Variable.update = staticmethod(update_variable)
        module.Variable.delete = staticmethod(delete_variable)

    def patch_session(_airflow: Any) -> None:
        # after the whole package ran: its __init__ calls settings.initialize(), which sets Session
        settings: Any = sys.modules.get("airflow.settings")
        if settings is not None:
            settings.Session = _NoDatabase()

    _after_import("airflow.sdk.definitions.variable", patch_variable)
    _after_import("airflow.models.variable", patch_variable)
    _after_import("airflow", patch_session)


class _NoDatabase:
    """Stands where ``airflow.settings.Session`` was: any use names the way around it."""

    def __call__(self, *_: Any, **__: Any) -> Any:
        raise WriteBackRefused(
            "this code opened an Airflow metadata database session, which an isolated task does not "
            f"have. {_ALTERNATIVES}"
        )

    def remove(self) -> None:
        """Called by Airflow's own teardown; there is nothing to close."""

    def __getattr__(self, name: str) -> Any:
        return self()


def _after_import(name: str, patch: Callable[[Any], None]) -> None:
    """Patch ``name`` now if imported, else right after its first import.

    Importing these modules up front would cost the runtime's start-up (the ORM pulls in
    SQLAlchemy) for tasks that never touch them.
    """
    module = sys.modules.get(name)
    if module is not None:
        patch(module)
    else:
        sys.meta_path.insert(0, _PatchOnImport(name, patch))


class _PatchOnImport(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, patch: Callable[[Any], None]):
        self._name = name
        self._patch = patch

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self._name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module
        patch = self._patch

        def exec_then_patch(module: Any) -> None:
            exec_module(module)
            patch(module)

        # on the loader instance (one per module file), so it keeps every other method, e.g. get_data
        loader.exec_module = exec_then_patch  # type: ignore[method-assign]
        return spec

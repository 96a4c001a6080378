"""The task's own modules, shipped from the host's DAGs and plugins folders, made importable here.

Operators and helpers kept next to the DAGs are not in any package the environment could install, so
the host sends their source. They go to a private folder put *first* on ``sys.path``, so that the
names resolve as on the host (where the DAGs folder is on ``sys.path``), and the folder is removed
when the task ends.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import ClassVar, ContextManager, Iterator, List, Optional, Sequence

from airflow_isolation.core import IsolationRequest, ShippedModule
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.runtime.facets.base import RequestRefused, TargetFacet

ROOT_NAMES = {"dags": "the DAGs folder", "plugins": "the plugins folder", "dag_file": "the DAG file's folder"}


class ShippedModuleError(RequestRefused):
    """A shipped module's path would land outside its folder."""


def _relative(path: str) -> PurePosixPath:
    relative = PurePosixPath(path)
    if not path or relative.is_absolute() or "\\" in path or ".." in relative.parts:
        raise ShippedModuleError(
            f"shipped module path {path!r} is not a relative path inside the DAGs or plugins folder; "
            "the request was not written by airflow-isolation's host operator"
        )
    return relative


def check_paths(modules: Sequence[ShippedModule]) -> None:
    """Refuse, before anything runs, a module whose path is absolute or climbs out with ``..``."""
    for module in modules:
        _relative(module.path)


@contextmanager
def installed(modules: Sequence[ShippedModule]) -> Iterator[Optional[Path]]:
    """Write ``modules`` to a private temporary folder (0700) first on ``sys.path`` while inside."""
    if not modules:
        yield None
        return
    relatives = [_relative(module.path) for module in modules]
    folder = Path(tempfile.mkdtemp(prefix="isolation-modules-"))
    try:
        for relative, module in zip(relatives, modules):
            target = folder.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            target.write_bytes(module.source)
        sys.path.insert(0, str(folder))
        importlib.invalidate_caches()
        try:
            yield folder
        finally:
            if str(folder) in sys.path:
                sys.path.remove(str(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _module_names(modules: Sequence[ShippedModule]) -> List[str]:
    names = []
    for module in modules:
        parts = list(PurePosixPath(module.path).with_suffix("").parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        if parts:
            names.append(".".join(parts))
    return names


def _missing_module(exc: BaseException) -> Optional[ModuleNotFoundError]:
    seen = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ModuleNotFoundError) and current.name:
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def explained(exc: BaseException, modules: Sequence[ShippedModule]) -> BaseException:
    """A missing module, said with where it was expected to come from and how to provide it.

    Anything else is returned as it is.
    """
    missing = _missing_module(exc)
    if missing is None or missing.name is None:
        return exc
    name = missing.name
    shipped = _module_names(modules)
    if name in shipped:
        return exc
    roots = sorted({ROOT_NAMES.get(m.root, m.root) for m in modules})
    if shipped:
        listed = f"shipped from {' and '.join(roots)} on the host: {', '.join(sorted(shipped))}"
    else:
        listed = "no module was shipped from the host's DAGs or plugins folders"
    message = (
        f"No module named {name!r} in this environment ({listed}). {name!r} is not in the host's DAGs or "
        "plugins folder, so it must come from a package: add the package that provides it to the "
        "environment's requirements and rebuild the environment (isolationctl env build). If it is your "
        "own code, keep it under the DAGs folder or the plugins folder on the host so it is shipped "
        "with the task."
    )
    explanation = ModuleNotFoundError(message, name=name)
    explanation.__cause__ = exc
    return explanation.with_traceback(exc.__traceback__)


class ShippedModulesFacet(TargetFacet):
    """The modules are importable for the whole run, Airflow's detection included (a task's own
    module shadows an installed one, as on the host); a missing module is explained."""

    facet: ClassVar[Facet] = BY_NAME["shipped_modules"]

    @classmethod
    def check(cls, request: IsolationRequest) -> None:
        check_paths(request.modules)

    def scope(self) -> ContextManager[object]:
        return installed(self.run.request.modules)

    def ended(self, exc: BaseException) -> Optional[BaseException]:
        return explained(exc, self.run.request.modules)

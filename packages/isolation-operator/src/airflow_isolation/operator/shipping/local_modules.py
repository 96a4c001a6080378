"""Finding the task's own modules on the host: what it imports from the DAGs and plugins folders.

Teams keep custom operators and helpers next to their DAGs (``dags/my_ops.py``) or in the plugins
folder. Airflow puts those folders on ``sys.path`` on the host, but the target has no copy of them,
so the request carries their source. Starting from the wrapped operator's module (or the imports
in a shipped callable's source), every import is followed, with ``ast``, as long as it resolves to a
``.py`` file under one of those folders; installed packages and the standard library are never
shipped: the environment provides those.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from airflow_isolation.core import CallableSpec, OperatorSpec, ShippedModule
from airflow_isolation.core.schema import TaskSpec
from airflow_isolation.operator import airflow_compat

MAX_SHIPPED_BYTES = 64 * 1024 * 1024
"""The most a request may carry; the modules must fit in it with room to spare."""


class ShippedModulesTooLargeError(airflow_compat.AirflowException):
    pass


Root = Tuple[str, Path]


def _folder(value: Optional[str]) -> Optional[Path]:
    if not value:
        return None
    path = Path(value).expanduser()
    return path.resolve() if path.is_dir() else None


def roots(dag_fileloc: Optional[str]) -> List[Root]:
    """The folders the task's own code may live in, labelled for the target's error messages."""
    from airflow.configuration import conf

    found: List[Root] = []
    candidates = [
        ("dags", _folder(conf.get("core", "dags_folder", fallback=None))),
        ("plugins", _folder(conf.get("core", "plugins_folder", fallback=None))),
        ("dag_file", _folder(str(Path(dag_fileloc).parent)) if dag_fileloc else None),
    ]
    for label, folder in candidates:
        if folder is not None and all(folder != known for _, known in found) and not _installed(folder):
            found.append((label, folder))
    return found


def _installed(path: Path) -> bool:
    return any(part in ("site-packages", "dist-packages") for part in path.parts)


def _stdlib(name: str) -> bool:
    top = name.partition(".")[0]
    return top in getattr(sys, "stdlib_module_names", ()) or top in sys.builtin_module_names


def _imported_elsewhere(name: str, folders: Sequence[Root]) -> bool:
    """Whether the host imported ``name`` from outside the folders (an installed package)."""
    module = sys.modules.get(name.partition(".")[0])
    location = getattr(module, "__file__", None)
    if module is None or location is None:
        return False
    path = Path(location).resolve()
    return not any(path.is_relative_to(folder) for _, folder in folders)


def _files_of(name: str, folders: Sequence[Root]) -> Iterator[Tuple[str, Path, Path]]:
    """The files that importing ``name`` runs, under the first folder holding it: packages'
    ``__init__.py`` on the way, then the module itself."""
    parts = name.split(".")
    for label, folder in folders:
        module = folder.joinpath(*parts)
        target = next((p for p in (module.with_suffix(".py"), module / "__init__.py") if p.is_file()), None)
        if target is None:
            continue
        for depth in range(1, len(parts)):
            init = folder.joinpath(*parts[:depth], "__init__.py")
            if init.is_file():
                yield label, folder, init
        yield label, folder, target
        return


def _imports(source: str, module_name: str, is_package: bool) -> Iterator[str]:
    """Absolute names of what ``source`` imports, including ``from pkg import submodule``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    package = module_name if is_package else module_name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, *([base] if base else [])])
            if base:
                yield base
            for alias in node.names:
                if alias.name != "*":
                    yield f"{base}.{alias.name}" if base else alias.name


def collect(
    module_names: Iterable[str], sources: Iterable[str], folders: Sequence[Root]
) -> List[ShippedModule]:
    """The modules under ``folders`` that ``module_names`` and the code in ``sources`` need, transitively."""
    shipped: Dict[str, ShippedModule] = {}
    pending: List[str] = list(module_names)
    for source in sources:
        pending += _imports(source, "", False)
    seen = set()
    total = 0
    while pending:
        name = pending.pop()
        if name in seen or not name or _stdlib(name) or _imported_elsewhere(name, folders):
            continue
        seen.add(name)
        for label, folder, path in _files_of(name, folders):
            relative = path.relative_to(folder).as_posix()
            if relative in shipped:
                continue
            data = path.read_bytes()
            total += len(data)
            if total > MAX_SHIPPED_BYTES:
                raise ShippedModulesTooLargeError(
                    f"the modules this task imports from the DAGs and plugins folders exceed "
                    f"{MAX_SHIPPED_BYTES // 2**20} MiB (at {path}): move large code or data into a package "
                    "installed in the environment (its requirements) instead of the DAGs folder"
                )
            shipped[relative] = ShippedModule(path=relative, source=data, root=label)
            module_name = ".".join(Path(relative).with_suffix("").parts)
            is_package = path.name == "__init__.py"
            if is_package:
                module_name = module_name.rpartition(".")[0]
            pending += _imports(data.decode("utf-8", errors="replace"), module_name, is_package)
    return sorted(shipped.values(), key=lambda m: m.path)


def _callable_specs(value: Any) -> Iterator[CallableSpec]:
    if isinstance(value, CallableSpec):
        yield value
        yield from _callable_specs(value.kwargs)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _callable_specs(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _callable_specs(item)


def _module_of(import_path: str) -> str:
    return import_path.partition(":")[0] if ":" in import_path else import_path.rpartition(".")[0]


def task_modules(
    task: TaskSpec, dag_fileloc: Optional[str], own: Sequence[ShippedModule] = ()
) -> List[ShippedModule]:
    """What to ship for ``task``: the wrapped operator's module and the imports of every callable in
    it (the callable task itself, or one among an operator's kwargs); ``own`` are modules made on
    the host (a class defined in the DAG file), shipped with what they import."""
    folders = roots(dag_fileloc)
    if not folders:
        return list(own)
    callables = list(_callable_specs(task if isinstance(task, CallableSpec) else task.kwargs))
    names = [c.import_path for c in callables if c.import_path]
    if isinstance(task, OperatorSpec):
        names.append(task.class_path)
    sources = [c.source for c in callables if c.source] + [m.source.decode() for m in own]
    found = collect([_module_of(n) for n in names], sources, folders)
    return sorted([*found, *own], key=lambda m: m.path)

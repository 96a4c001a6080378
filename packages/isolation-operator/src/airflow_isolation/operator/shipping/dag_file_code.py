"""Code defined in the DAG file itself: the part of the file a class or function needs, alone.

The target cannot import a DAG file: importing it would define the DAGs again, import host-only
packages (``airflow_isolation.operator``, providers the environment lacks) and run whatever else its
top level does. So only what the class or function uses travels: starting from its statement, every
module-level name it reads is followed, with ``symtable``, to the top-level statements that bind it
(imports, reduced to the names used; helper functions and classes; constants; a ``try``/``if``
block as a whole), and so on transitively. DAG definitions never come along: nothing reads a name
they bind, except names bound inside a ``with DAG(...)`` block, which are refused, as are names
imported from the host-only ``airflow_isolation.operator`` and functions made tasks or DAGs by
Airflow's decorators.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import symtable
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from airflow_isolation.core import ShippedModule
from airflow_isolation.operator import airflow_compat

DAG_FILE_MODULE_PREFIXES = ("unusual_prefix_", "__main__")
"""How Airflow names the module of a DAG file it loads (``unusual_prefix_<sha1>_<file>``), and
the module of a DAG file run as a script."""

HOST_ONLY_PACKAGES = ("airflow_isolation.operator", "airflow_isolation.workspace")
_BUILTINS = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__builtins__"}
_MOVE_IT = (
    "Move it into a module beside the DAG file (e.g. dags/my_ops.py) and import it from there: "
    "modules in the DAGs and plugins folders are shipped with the task"
)


class DagFileCodeError(airflow_compat.AirflowException):
    """A class defined in a DAG file needs something that cannot leave the DAG file."""


def defined_in_dag_file(obj: Any) -> bool:
    return str(getattr(obj, "__module__", "")).startswith(DAG_FILE_MODULE_PREFIXES)


@dataclass
class _Statement:
    node: ast.stmt
    binds: Set[str]
    imported_from: Dict[str, str] = field(default_factory=dict)


@dataclass
class _Slice:
    """The statements kept, by index in the file, with the import names used of each."""

    kept: Dict[int, Optional[Set[str]]] = field(default_factory=dict)
    refused: Dict[str, str] = field(default_factory=dict)


def _imported_names(node: ast.stmt) -> Dict[str, str]:
    """Name bound -> the module it comes from, for an import statement."""
    if isinstance(node, ast.Import):
        return {(a.asname or a.name.partition(".")[0]): a.name for a in node.names}
    if isinstance(node, ast.ImportFrom):
        return {(a.asname or a.name): node.module or "" for a in node.names}
    return {}


def _imports_within(node: ast.stmt) -> Dict[str, str]:
    """``_imported_names`` of the statement and of the imports nested in it (``try``/``if``
    blocks choosing between Airflow versions), not of those inside its functions or classes."""
    found: Dict[str, str] = {}
    pending: List[ast.AST] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, (ast.Import, ast.ImportFrom)):
            found.update(_imported_names(current))
        elif not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.expr)):
            pending += list(ast.iter_child_nodes(current))
    return found


def _bound_names(node: ast.stmt) -> Set[str]:
    """The module-level names a top-level statement binds (not those inside its functions)."""
    found: Set[str] = set()
    pending: List[ast.AST] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(current.name)
            pending += [*current.decorator_list, *getattr(current, "bases", [])]
            continue
        if isinstance(current, (ast.Import, ast.ImportFrom)):
            found |= set(_imported_names(current))
            continue
        if isinstance(current, ast.Name) and isinstance(current.ctx, ast.Store):
            found.add(current.id)
        elif isinstance(current, ast.ExceptHandler) and current.name:
            found.add(current.name)
        pending += list(ast.iter_child_nodes(current))
    return found


def _read_names(source: str) -> Set[str]:
    """The global names ``source`` (one top-level statement) reads, in any scope inside it."""
    names: Set[str] = set()
    tables = [symtable.symtable(source, "<dag file>", "exec")]
    while tables:
        table = tables.pop()
        names |= {s.get_name() for s in table.get_symbols() if s.is_referenced() and s.is_global()}
        tables += table.get_children()
    return names - _BUILTINS


def _start_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


class DagFile:
    """One DAG file's top-level statements, what each binds and reads."""

    def __init__(self, path: str, source: str):
        self.path = path
        self.lines = source.splitlines(keepends=True)
        self.statements = [
            _Statement(node, _bound_names(node), _imports_within(node)) for node in ast.parse(source).body
        ]

    def segment(self, index: int) -> str:
        node = self.statements[index].node
        return "".join(self.lines[_start_line(node) - 1 : node.end_lineno])

    def index_of(self, name: str, line: int) -> Optional[int]:
        """The top-level ``def``/``class`` statement named ``name`` around ``line`` (1-based)."""
        for index, statement in enumerate(self.statements):
            node = statement.node
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and node.name == name
                and _start_line(node) <= line <= (node.end_lineno or node.lineno)
            ):
                return index
        return None

    def _refusal(self, index: int, name: str) -> Optional[str]:
        statement = self.statements[index]
        node = statement.node
        module = statement.imported_from.get(name, "")
        if module.startswith(HOST_ONLY_PACKAGES):
            return f"{name!r} is imported from {module}, which exists only on the host"
        if isinstance(node, (ast.With, ast.AsyncWith)):
            return f"{name!r} is defined inside the `with` block at line {node.lineno}"
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            self._airflow_decorator(d) for d in node.decorator_list
        ):
            return f"{name!r} is an Airflow task or DAG (decorated at line {_start_line(node)}), not a helper"
        return None

    def _airflow_decorator(self, decorator: ast.expr) -> bool:
        root: ast.AST = decorator
        while isinstance(root, (ast.Call, ast.Attribute)):
            root = root.func if isinstance(root, ast.Call) else root.value
        if not isinstance(root, ast.Name):
            return False
        modules = {s.imported_from[root.id] for s in self.statements if root.id in s.imported_from}
        return any(m == "airflow" or m.startswith(("airflow.", "airflow_isolation")) for m in modules)

    def needs(self, start: int, exclude: Set[str], start_source: Optional[str] = None) -> _Slice:
        """The statements that the statement at ``start`` (or ``start_source``, the shipped form
        of it) needs, transitively; names in ``exclude`` are provided otherwise."""
        result = _Slice()
        pending: List[Optional[int]] = [None]
        seen_names = set(exclude)
        while pending:
            index = pending.pop()
            if index is None:
                source = self.segment(start) if start_source is None else start_source
            else:
                source = self.segment(index)
            for name in sorted(_read_names(source) - seen_names):
                seen_names.add(name)
                for where in self._binders(name):
                    refusal = self._refusal(where, name)
                    if refusal is not None:
                        result.refused.setdefault(name, refusal)
                        continue
                    statement = self.statements[where]
                    if isinstance(statement.node, (ast.Import, ast.ImportFrom)):
                        used = result.kept.setdefault(where, set())
                        if used is not None:
                            used.add(name)
                    elif where not in result.kept and where != start:
                        result.kept[where] = None
                        pending.append(where)
        return result

    def _binders(self, name: str) -> Iterator[int]:
        found = [i for i, s in enumerate(self.statements) if name in s.binds]
        if not found:
            found = [i for i, s in enumerate(self.statements) if "*" in s.binds]
        yield from found

    def render(self, kept: Dict[int, Optional[Set[str]]], keep_lines: bool) -> str:
        """The kept statements in file order; ``keep_lines`` pads them to their lines in the file."""
        futures = {i: None for i, s in enumerate(self.statements) if _is_future(s.node)}
        out: List[str] = []
        for index in sorted({**futures, **kept} if kept else {}):
            node = self.statements[index].node
            used = kept.get(index)
            text = self.segment(index) if used is None else _reduced_import(node, used) + "\n"
            if keep_lines:
                out += ["\n"] * max(0, _start_line(node) - 1 - len(out))
            out += text.splitlines(keepends=True)
        return "".join(out)


def _is_future(node: ast.stmt) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


def _reduced_import(node: ast.stmt, used: Set[str]) -> str:
    if isinstance(node, ast.Import):
        names = [a for a in node.names if (a.asname or a.name.partition(".")[0]) in used]
        return ast.unparse(ast.Import(names=names))
    assert isinstance(node, ast.ImportFrom)
    names = [a for a in node.names if (a.asname or a.name) in used or a.name == "*"]
    return ast.unparse(ast.ImportFrom(module=node.module, names=names, level=node.level))


def _dag_file_of(obj: Any) -> Optional[DagFile]:
    module = sys.modules.get(getattr(obj, "__module__", ""))
    path = getattr(module, "__file__", None) if module is not None else None
    if not path or not Path(path).is_file():
        return None
    return DagFile(path, Path(path).read_text(encoding="utf-8"))


def class_module(cls: type, task_id: str) -> Tuple[str, ShippedModule]:
    """The class path the target imports ``cls`` by, and its module: the class and what it needs
    of its DAG file, on their lines of the file (tracebacks point at the right lines). The module
    keeps the name Airflow gave the DAG file's module; a DAG file run as a script (``__main__``,
    which the target's own entry point holds) gets ``dag_file_<file name>``."""
    where = f"IsolatedOperator {task_id!r}: operator class {cls.__qualname__} is defined in the DAG file"
    dag_file = _dag_file_of(cls)
    if dag_file is None or "<locals>" in cls.__qualname__:
        raise DagFileCodeError(
            f"{where} {getattr(dag_file, 'path', cls.__module__)}"
            + (" inside a function" if "<locals>" in cls.__qualname__ else ", whose source is not available")
            + f", so the target cannot rebuild it. {_MOVE_IT}."
        )
    try:
        line = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        line = 0
    index = dag_file.index_of(cls.__name__, line) if line else None
    if index is None:
        raise DagFileCodeError(
            f"{where} {dag_file.path}, but its `class` statement was not found. {_MOVE_IT}."
        )
    found = dag_file.needs(index, {cls.__name__})
    if found.refused:
        reasons = "; ".join(found.refused.values())
        raise DagFileCodeError(
            f"{where} {dag_file.path} and uses what cannot leave the DAG file ({reasons}). {_MOVE_IT}, "
            "or define what it uses at the top level of the DAG file."
        )
    source = dag_file.render({**found.kept, index: None}, keep_lines=True)
    name = f"dag_file_{Path(dag_file.path).stem}" if cls.__module__ == "__main__" else cls.__module__
    module = ShippedModule(path=f"{name}.py", source=source.encode(), root="dag_file")
    return f"{name}.{cls.__qualname__}", module


def function_preamble(func: Any, shipped_source: str) -> str:
    """What a function defined in a DAG file uses of the file's top level, or "" (also when the
    file is unavailable): names that cannot leave the file are left out, as they were before."""
    if not defined_in_dag_file(func) or "<locals>" in getattr(func, "__qualname__", ""):
        return ""
    dag_file = _dag_file_of(func)
    code = getattr(func, "__code__", None)
    if dag_file is None or code is None:
        return ""
    index = dag_file.index_of(func.__name__, code.co_firstlineno)
    if index is None:
        return ""
    found = dag_file.needs(index, {func.__name__}, shipped_source)
    return dag_file.render(found.kept, keep_lines=False)

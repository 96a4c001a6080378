"""Core depends on msgspec only: importing (and using) it never pulls in host or tool packages.

Targets install core, so it must not reach for the host's own packages either: the project view
(``airflow_isolation.workspace``), the CLI and the operator are host-only, and the runtime sits on
top of core, not under it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import airflow_isolation.core

FORBIDDEN = ("airflow", "docker", "kubernetes", "pendulum", "typer", "rich")
FORBIDDEN_OWN = (
    "airflow_isolation.workspace",
    "airflow_isolation.cli",
    "airflow_isolation.operator",
    "airflow_isolation.runtime",
)
# pendulum is optional at run time: a value that was a pendulum DateTime on the host comes back as one
# in a target that has pendulum. It may only be imported lazily, inside a function, guarded by
# ``except ImportError``, so that importing core never imports it.
LAZY_OPTIONAL = ("pendulum",)
CORE_SRC = Path(airflow_isolation.core.__file__).resolve().parent

_PROBE = """
import json, sys
import airflow_isolation.core, airflow_isolation.core.json_schema, airflow_isolation.core.integrity
import airflow_isolation.core.launch
import airflow_isolation.core.values, airflow_isolation.core.codec
from airflow_isolation.core import IsolationResult, SCHEMA_VERSION, encode, encode_json
from airflow_isolation.core import decode_result, decode_result_json
import datetime as dt
value = {"t": (1, {2}), "d": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), "b": b"x"}
res = IsolationResult(schema=SCHEMA_VERSION, status="success", return_value=value)
decode_result(encode(res)); decode_result_json(encode_json(res))
airflow_isolation.core.json_schema.schema()
print(json.dumps(sorted(sys.modules)))
"""


def _top(name: Optional[str]) -> str:
    return (name or "").split(".")[0]


def _forbidden(name: str) -> bool:
    return _top(name) in FORBIDDEN or any(name == own or name.startswith(own + ".") for own in FORBIDDEN_OWN)


def test_importing_and_using_core_imports_nothing_forbidden(tmp_path: Path) -> None:
    # -I: no PYTHONPATH, no user site, and not the current directory (tmp_path anyway)
    proc = subprocess.run(
        [sys.executable, "-I", "-c", _PROBE], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert proc.returncode == 0, proc.stderr
    modules: List[str] = json.loads(proc.stdout)
    assert "airflow_isolation.core.codec" in modules  # the probe really imported core
    assert "msgspec" in modules
    leaked = sorted(m for m in modules if _forbidden(m))
    assert not leaked, f"importing airflow_isolation.core imported {leaked}"


def test_importtime_report_has_no_forbidden_module(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-I",
            "-X",
            "importtime",
            "-c",
            "import airflow_isolation.core, airflow_isolation.core.json_schema, "
            "airflow_isolation.core.integrity",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    imported = [
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    ]
    assert "airflow_isolation.core" in imported
    assert not [m for m in imported if _forbidden(m)]


def _parents(tree: ast.AST) -> Dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _is_lazy_and_guarded(node: ast.AST, parents: Dict[ast.AST, ast.AST]) -> bool:
    """Inside a function body, and inside a ``try`` whose handlers catch ImportError."""
    in_function = guarded = False
    current = node
    while current in parents:
        parent = parents[current]
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function = True
        if isinstance(parent, ast.Try) and current in parent.body:
            for handler in parent.handlers:
                names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
                guarded |= any(
                    isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names
                )
        current = parent
    return in_function and guarded


def test_static_scan_of_core_sources() -> None:
    sources = sorted(CORE_SRC.rglob("*.py"))
    assert {p.name for p in sources} >= {
        "__init__.py",
        "codec.py",
        "values.py",
        "schema.py",
        "integrity.py",
    }
    violations: List[str] = []
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        parents = _parents(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.ImportFrom):
                violations.append(f"{path.relative_to(CORE_SRC)}:{node.lineno}: relative import")
                continue
            else:
                continue
            for name in names:
                top = _top(name)
                if not _forbidden(name):
                    continue
                if top in LAZY_OPTIONAL and _is_lazy_and_guarded(node, parents):
                    continue
                violations.append(f"{path.relative_to(CORE_SRC)}:{node.lineno}: import {name}")
    assert not violations, "core must not import these (see DESIGN.md section 2):\n" + "\n".join(violations)


def test_no_dynamic_imports() -> None:
    """``importlib.import_module(...)`` or ``__import__(...)`` would dodge the scan above."""
    for path in CORE_SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                assert name not in ("import_module", "__import__"), (
                    f"{path.name}:{node.lineno}: dynamic import"
                )


def test_declared_dependencies() -> None:
    try:
        import tomllib
    except ImportError:  # Python < 3.11: the test extra's pytest brings tomli
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]

    project = tomllib.loads((CORE_SRC.parents[2] / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == ["msgspec>=0.18.6"]
    assert project["requires-python"] == ">=3.9"

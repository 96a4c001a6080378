"""The launch protocol is spelt once: in ``airflow_isolation.core.launch``.

The runtime parses the command line every backend builds; a backend that spelt it (or the request's
part names, or a path inside the image) itself could drift from what the runtime accepts, and
only an end-to-end run on that backend would notice.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Set

PACKAGES = Path(__file__).resolve().parents[2]
SOURCES = [
    PACKAGES / name / "src"
    for name in ("isolation-core", "isolation-runtime", "isolation-operator", "isolation-cli")
]
LAUNCH = PACKAGES / "isolation-core" / "src" / "airflow_isolation" / "core" / "launch.py"
STANDALONE = {
    "isolation-cli/src/airflow_isolation/cli/image/in_container_install.py": ("VENV_PYTHON", "IMAGE_PYTHON"),
}
"""Modules that run where core is not installed (inside ``docker build``, on the base image's
Python): each keeps one named copy of a launch constant, which ``test_standalone_copies_match``
holds equal to launch's."""
EXACT = {"--request", "--result", "--result-format", "airflow_isolation.runtime"}
CONTAINED = (".part-", "/opt/isolation")
USERS = [
    "isolation-runtime/src/airflow_isolation/runtime/entrypoint.py",
    "isolation-runtime/src/airflow_isolation/runtime/process/request_file.py",
    "isolation-operator/src/airflow_isolation/operator/backends/venv/backend.py",
    "isolation-operator/src/airflow_isolation/operator/backends/docker/backend.py",
    "isolation-operator/src/airflow_isolation/operator/backends/docker/container.py",
    "isolation-operator/src/airflow_isolation/operator/backends/kubernetes/backend.py",
    "isolation-operator/src/airflow_isolation/operator/backends/kubernetes/request_secret.py",
    "isolation-cli/src/airflow_isolation/cli/image/build_context.py",
    "isolation-cli/src/airflow_isolation/cli/commands/env/run.py",
]


def _modules() -> Iterator[Path]:
    for root in SOURCES:
        yield from sorted(root.rglob("*.py"))


def _docstrings(tree: ast.AST) -> Set[ast.AST]:
    """Docstrings may describe the protocol; only code must not spell it."""
    found: Set[ast.AST] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for index, statement in enumerate(body):
                documents = index == 0 or isinstance(body[index - 1], (ast.Assign, ast.AnnAssign))
                value = statement.value if isinstance(statement, ast.Expr) else None
                if documents and isinstance(value, ast.Constant):
                    found.add(value)
    return found


def test_the_scan_sees_the_backends_the_runtime_and_the_cli() -> None:
    scanned = {path.relative_to(PACKAGES).as_posix() for path in _modules()}
    assert set(USERS) <= scanned
    assert LAUNCH.relative_to(PACKAGES).as_posix() in scanned


def test_only_launch_spells_the_protocol() -> None:
    violations: List[str] = []
    for path in _modules():
        if path == LAUNCH or path.relative_to(PACKAGES).as_posix() in STANDALONE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or node in docstrings:
                continue
            if node.value in EXACT or any(text in node.value for text in CONTAINED):
                where = f"{path.relative_to(PACKAGES)}:{node.lineno}"
                violations.append(f"{where}: {node.value!r}")
    assert not violations, (
        "the runtime's command line, the request's part names and the paths inside images belong to "
        "airflow_isolation.core.launch; use its constants and functions instead of:\n" + "\n".join(violations)
    )


def _imports_launch(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module == "airflow_isolation.core.launch":
                return True
            if node.module == "airflow_isolation.core" and any(a.name == "launch" for a in node.names):
                return True
    return False


def test_the_runtime_and_every_backend_take_the_protocol_from_launch() -> None:
    missing = [
        name
        for name in USERS
        if not _imports_launch(ast.parse((PACKAGES / name).read_text(encoding="utf-8")))
    ]
    assert not missing, f"these must import airflow_isolation.core.launch: {missing}"


def _assigned(tree: ast.AST, name: str) -> object:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"no assignment to {name}")


def test_standalone_copies_match() -> None:
    from airflow_isolation.core import launch

    for name, (copy, original) in STANDALONE.items():
        tree = ast.parse((PACKAGES / name).read_text(encoding="utf-8"))
        assert _assigned(tree, copy) == getattr(launch, original), f"{name}: {copy} != launch.{original}"

"""Every ``[isolation]`` option the code reads is declared in ``workspace.settings_table``, and every
declared option is read.

Scanned: the source of every package. A read spells its option one of these ways: a key passed
with the section ``"isolation"`` to a configuration getter (``compat.get_conf``, Airflow's
``conf.get``/``getboolean``/..., ``configparser``), a key passed to the CLI's reading of Airflow's
configuration (``locations.airflow_config_sources``), an ``AIRFLOW__ISOLATION__<KEY>`` variable, a
``OPTIONS_BY_NAME[...]`` lookup, or an ``[isolation] <key>`` a message or docstring tells the user to set.
``AIRFLOW__ISOLATION__SETTINGS_FILE`` is the one variable that is not an option (see the table's
docstring).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Iterator, List, Tuple

from airflow_isolation.workspace import settings_table
from airflow_isolation.workspace.locations import PATH_KEYS
from airflow_isolation.workspace.project_settings import SETTINGS_FILE_VAR, ProjectSettings
from airflow_isolation.workspace.settings_table import OPTIONS, OPTIONS_BY_NAME, SECTION, Option

PACKAGES = Path(__file__).resolve().parents[2]
TABLE = Path(settings_table.__file__).resolve()
GETTERS = {"get_conf", "get", "getboolean", "getint", "getfloat", "getlist", "getjson", "has_option"}
KEYED = {"airflow_config_sources", "airflow_variable", "airflow_config_origin"}
VARIABLE = re.compile(r"AIRFLOW__ISOLATION__([A-Z0-9_]+)")
MENTION = re.compile(r"\[isolation\] +`{0,2}([a-z][a-z0-9_]*)")
NOT_OPTIONS = {SETTINGS_FILE_VAR}


def _modules() -> Iterator[Path]:
    for package in sorted(PACKAGES.glob("isolation-*")):
        for path in sorted((package / "src").rglob("*.py")):
            if path.resolve() != TABLE:
                yield path


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(PACKAGES)}:{getattr(node, 'lineno', '?')}"


def _called(node: ast.Call) -> str:
    function = node.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _read_names(path: Path) -> Iterator[Tuple[str, str]]:
    """``(where, name)`` for every option name this module spells as a read."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called, args = _called(node), node.args
            if called in GETTERS and len(args) >= 2 and _literal(args[0]) == SECTION:
                key = _literal(args[1])
                if key is not None:
                    yield _where(path, node), key
            if called in KEYED and args and _literal(args[0]) is not None:
                yield _where(path, node), str(_literal(args[0]))
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            if node.value.id == "OPTIONS_BY_NAME" and _literal(node.slice) is not None:
                yield _where(path, node), str(_literal(node.slice))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in VARIABLE.finditer(node.value):
                if match.group(0) not in NOT_OPTIONS:
                    yield _where(path, node), match.group(1).lower()
            for match in MENTION.finditer(node.value):
                yield _where(path, node), match.group(1)


def test_the_scan_finds_reads() -> None:
    found = {name for path in _modules() for _, name in _read_names(path)}
    assert {"warm_runtime", "warm_runtime_idle_seconds", "default_backend"} <= found


def test_every_option_the_code_reads_is_declared() -> None:
    undeclared: List[str] = []
    for path in _modules():
        undeclared.extend(
            f"{where}: {name}" for where, name in _read_names(path) if name not in OPTIONS_BY_NAME
        )
    assert not undeclared, (
        "these [isolation] options are read (or named to the user) but not declared: add each to "
        "airflow_isolation.workspace.settings_table and read it through its Option:\n" + "\n".join(undeclared)
    )


def test_every_declared_option_is_read() -> None:
    """Each option's constant is used outside the table (a reader takes the ``Option``)."""
    constants = {name for name, value in vars(settings_table).items() if isinstance(value, Option)}
    assert {vars(settings_table)[name] for name in constants} == set(OPTIONS)
    used = set()
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Name) and node.id in constants:
                used.add(node.id)
            elif isinstance(node, ast.alias) and node.name in constants:
                used.add(node.name)
            elif isinstance(node, ast.Attribute) and node.attr in constants:
                used.add(node.attr)
    assert constants <= used, f"declared but never read: {sorted(constants - used)}"


def test_the_path_keys_are_options() -> None:
    assert set(PATH_KEYS) <= set(OPTIONS_BY_NAME)


def test_the_project_file_sets_exactly_the_options_that_say_so() -> None:
    """``isolation.toml`` keys that are also Airflow options are flagged ``in_project_file``."""
    project_keys = set(ProjectSettings.__struct_fields__)
    assert {o.name for o in OPTIONS if o.in_project_file} == project_keys & set(OPTIONS_BY_NAME)
    defaults = ProjectSettings()
    assert all(getattr(defaults, o.name) == o.default for o in OPTIONS if o.in_project_file)

"""Which of the task's own modules the host ships: those under the DAGs and plugins folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_isolation.core import CallableSpec, OperatorSpec
from airflow_isolation.operator.shipping import local_modules
from airflow_isolation.operator.shipping.local_modules import collect, task_modules


def _write(root: Path, files: dict) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple:
    dags, plugins = tmp_path / "dags", tmp_path / "plugins"
    _write(dags, {
        "my_ops.py": "import json\nimport msgspec\nfrom helpers.fmt import shout\nfrom . import sibling\n",
        "sibling.py": "X = 1\n",
        "helpers/__init__.py": "",
        "helpers/fmt.py": "from .deep import inner\nimport plugin_utils\n\ndef shout(s):\n    return s\n",
        "helpers/deep/__init__.py": "",
        "helpers/deep/inner.py": "Y = 2\n",
        "unused.py": "Z = 3\n",
        "my_dag.py": "",
    })  # fmt: skip
    _write(plugins, {"plugin_utils.py": "T = 1\n"})
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(dags))
    monkeypatch.setenv("AIRFLOW__CORE__PLUGINS_FOLDER", str(plugins))
    return dags, plugins


def test_an_operator_module_ships_with_what_it_imports_transitively(folders: tuple) -> None:
    dags, _ = folders
    shipped = task_modules(OperatorSpec("my_ops.MyOperator"), str(dags / "my_dag.py"))
    assert [(m.path, m.root) for m in shipped] == [
        ("helpers/__init__.py", "dags"),
        ("helpers/deep/__init__.py", "dags"),
        ("helpers/deep/inner.py", "dags"),
        ("helpers/fmt.py", "dags"),
        ("my_ops.py", "dags"),
        ("plugin_utils.py", "plugins"),
        ("sibling.py", "dags"),
    ]
    assert next(m for m in shipped if m.path == "sibling.py").source == b"X = 1\n"


def test_a_callable_ships_what_its_body_imports(folders: tuple) -> None:
    source = "def f():\n    from helpers.deep import inner\n    import os\n    return inner.Y\n"
    shipped = task_modules(CallableSpec(name="f", source=source), None)
    assert [m.path for m in shipped] == [
        "helpers/__init__.py",
        "helpers/deep/__init__.py",
        "helpers/deep/inner.py",
    ]


def test_a_callable_among_operator_kwargs_and_an_import_path(folders: tuple) -> None:
    task = OperatorSpec(
        "airflow.providers.standard.operators.python.PythonOperator",
        {"python_callable": CallableSpec(name="g", import_path="sibling:g")},
    )
    assert [m.path for m in task_modules(task, None)] == ["sibling.py"]


def test_installed_packages_and_the_stdlib_are_never_shipped(folders: tuple) -> None:
    dags, _ = folders
    _write(dags, {"json.py": "", "msgspec/__init__.py": "", "pytest.py": ""})
    shipped = task_modules(CallableSpec(name="f", source="import json, msgspec, pytest\n"), None)
    assert shipped == []


def test_too_much_code_is_refused(folders: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    dags, _ = folders
    monkeypatch.setattr(local_modules, "MAX_SHIPPED_BYTES", 10)
    with pytest.raises(local_modules.ShippedModulesTooLargeError, match=r"exceed.*requirements"):
        collect(["my_ops"], [], [("dags", dags.resolve())])


def test_no_folder_ships_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path / "absent"))
    monkeypatch.setenv("AIRFLOW__CORE__PLUGINS_FOLDER", str(tmp_path / "absent"))
    assert task_modules(OperatorSpec("my_ops.MyOperator"), None) == []

"""A class or function defined in the DAG file travels with what it uses of the file's top level,
never with the DAG definitions; what cannot leave the file fails when the DAG is parsed."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

from airflow_isolation.operator.shipping.callable_source import callable_spec
from airflow_isolation.operator.shipping.dag_file_code import DagFileCodeError, class_module

DAG_FILE = """
from __future__ import annotations

import json, os.path as osp
import pendulum
from airflow_isolation.operator import IsolatedOperator

try:
    from airflow.sdk import DAG, BaseOperator, task
except ImportError:
    from airflow import DAG
    from airflow.decorators import task
    from airflow.models.baseoperator import BaseOperator

try:
    from some_host_only_provider import Thing
except ImportError:
    Thing = None

SUFFIX = "!"
UNUSED = json.dumps({})


def helper(word):
    return word.upper() + SUFFIX


class ShoutOperator(BaseOperator):
    template_fields = ("word",)

    def __init__(self, word, **kwargs):
        super().__init__(**kwargs)
        self.word = word

    def execute(self, context):
        return {"said": helper(self.word), "thing": Thing}


def uses_helper(word):
    return helper(word) + osp.sep


@task
def a_task():
    return 1


class UsesTask(BaseOperator):
    def execute(self, context):
        return a_task()


with DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:
    IsolatedOperator(task_id="t", environment="plain", operator=ShoutOperator, word="hi")

    class InsideWith(BaseOperator):
        pass


class UsesDag(BaseOperator):
    def execute(self, context):
        return dag.dag_id


class UsesHostOnly(BaseOperator):
    def execute(self, context):
        return IsolatedOperator
"""


@pytest.fixture
def dag_module(tmp_path: Path) -> Iterator[Any]:
    """The DAG file loaded as Airflow loads one: under an ``unusual_prefix_`` module name."""
    path = tmp_path / "shout_dag.py"
    path.write_text(textwrap.dedent(DAG_FILE).lstrip())
    name = "unusual_prefix_0123_shout_dag"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(name, None)


def test_the_class_travels_with_what_it_uses_and_nothing_else(dag_module: Any) -> None:
    path, module = class_module(dag_module.ShoutOperator, "t")
    assert path == "unusual_prefix_0123_shout_dag.ShoutOperator"
    assert module.path == "unusual_prefix_0123_shout_dag.py" and module.root == "dag_file"
    source = module.source.decode()
    needed_lines = (
        "from __future__ import annotations",
        "from airflow.models.baseoperator import BaseOperator",
        "def helper(word)",
        'SUFFIX = "!"',
        "except ImportError:",
        "class ShoutOperator",
    )
    for needed in needed_lines:
        assert needed in source, needed
    for absent in ("IsolatedOperator", "with DAG", "pendulum", "UNUSED", "import json", "a_task"):
        assert absent not in source, absent
    lines = DAG_FILE.strip("\n").splitlines()
    shipped = source.splitlines()
    assert shipped[lines.index("class ShoutOperator(BaseOperator):")] == "class ShoutOperator(BaseOperator):"


def test_the_shipped_module_defines_the_class(dag_module: Any, tmp_path: Path) -> None:
    _, module = class_module(dag_module.ShoutOperator, "t")
    namespace: dict = {"__name__": "shipped"}
    exec(compile(module.source, "shipped", "exec"), namespace)
    assert namespace["helper"]("a") == "A!" and "ShoutOperator" in namespace


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("UsesDag", "'dag' is defined inside the `with` block"),
        ("UsesHostOnly", "'IsolatedOperator' is imported from airflow_isolation.operator"),
        ("UsesTask", "'a_task' is an Airflow task or DAG"),
    ],
)
def test_what_cannot_leave_the_dag_file_fails_at_parse_time(dag_module: Any, name: str, reason: str) -> None:
    with pytest.raises(DagFileCodeError) as info:
        class_module(getattr(dag_module, name), "t")
    message = str(info.value)
    assert f"operator class {name} is defined in the DAG file" in message and "shout_dag.py" in message
    assert reason in message
    assert "dags/my_ops.py" in message


def test_a_class_defined_inside_a_function_fails_at_parse_time() -> None:
    class Local:
        pass

    Local.__module__ = "unusual_prefix_0123_elsewhere"
    with pytest.raises(DagFileCodeError, match=r"dags/my_ops\.py"):
        class_module(Local, "t")


def test_a_callable_travels_with_the_helpers_it_uses(dag_module: Any) -> None:
    spec = callable_spec(dag_module.uses_helper)
    assert spec.source is not None
    assert "def helper(word)" in spec.source and 'SUFFIX = "!"' in spec.source
    assert "import os.path as osp" in spec.source and "IsolatedOperator" not in spec.source
    namespace: dict = {}
    exec(spec.source, namespace)
    assert namespace["uses_helper"]("a").startswith("A!")


def test_a_task_callable_leaves_its_decorator_behind(dag_module: Any) -> None:
    spec = callable_spec(dag_module.a_task.function)
    assert spec.source is not None and spec.source.startswith("def a_task():")

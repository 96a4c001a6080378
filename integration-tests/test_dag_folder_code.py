"""Code kept next to the DAGs runs isolated: a custom operator in the DAGs folder, wrapped by dotted
path and by class, importing a helper package beside it and a module of the plugins folder, is
shipped with the request and runs on Airflow 2.10 and 3.x targets; a module that is nowhere is named
in the task's error with the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from harness import host_env, run_dag

MY_OPS = """
try:
    from airflow.sdk import BaseOperator
except ImportError:
    from airflow.models.baseoperator import BaseOperator

from helpers.fmt import shout


class ShoutOperator(BaseOperator):
    template_fields = ("word",)

    def __init__(self, word, **kwargs):
        super().__init__(**kwargs)
        self.word = word

    def execute(self, context):
        import airflow

        return {"said": shout(self.word), "airflow": airflow.__version__}


class NeedsAbsentOperator(BaseOperator):
    def execute(self, context):
        import isolation_absent_module_xyz  # noqa: F401
"""

FMT = """
from plugin_tone import TONE


def shout(word):
    return word.upper() + TONE
"""

DAG = """
import pendulum

try:
    from airflow.sdk import DAG, task
except ImportError:
    from airflow import DAG
    from airflow.decorators import task

from airflow_isolation.operator import IsolatedOperator
from my_ops import ShoutOperator

with DAG("dag_folder_code_{env}", start_date=pendulum.datetime(2024, 1, 1), schedule=None, catchup=False):
    by_path = IsolatedOperator(
        task_id="by_path", environment="{env}", operator="my_ops.ShoutOperator", word="{{{{ ds }}}}"
    )
    by_class = IsolatedOperator(task_id="by_class", environment="{env}", operator=ShoutOperator, word="hi")

    @task.isolated(environment="{env}")
    def callable_helper():
        from helpers.fmt import shout

        return shout("fn")

    missing = IsolatedOperator(
        task_id="missing", environment="{env}", operator="my_ops.NeedsAbsentOperator"
    )

    @task
    def check(by_path, by_class, from_callable):
        assert by_path["said"] == "2024-01-02!!", by_path
        assert by_class["said"] == "HI!!", by_class
        assert from_callable == "FN!!", from_callable
        return "checked"

    check(by_path.output, by_class.output, callable_helper())
"""


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


@pytest.mark.parametrize("env_name", ["af31", "af210"])
def test_code_next_to_the_dags_is_shipped(
    env_name: str, tmp_path: Path, airflow_db: None, built_envs: list[str]
) -> None:
    dags, plugins = tmp_path / "dags", tmp_path / "plugins"
    _write(dags, {
        "my_ops.py": MY_OPS,
        "helpers/__init__.py": "",
        "helpers/fmt.py": FMT,
        f"dag_folder_code_{env_name}.py": DAG.format(env=env_name),
    })  # fmt: skip
    _write(plugins, {"plugin_tone.py": 'TONE = "!!"\n'})
    folders = {"AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins)}
    env = host_env(extra=folders)
    report = run_dag(f"dag_folder_code_{env_name}", env)
    expected = {"by_path": "success", "by_class": "success", "callable_helper": "success", "check": "success"}
    assert {k: report.state(k) for k in expected} == expected, report.output[-8000:]
    assert report.state("missing") == "failed", report.output[-8000:]
    out = report.output
    assert "No module named 'isolation_absent_module_xyz'" in out
    assert "shipped from the DAGs folder and the plugins folder on the host" in out
    assert "add the package that provides it to the environment's requirements" in out
    assert "keep it under the DAGs folder or the plugins folder on the host" in out


IN_DAG_FILE = """
from __future__ import annotations

import pendulum

try:
    from airflow.sdk import DAG, BaseOperator, dag, task
except ImportError:
    from airflow import DAG
    from airflow.decorators import dag, task
    from airflow.models.baseoperator import BaseOperator

from airflow_isolation.operator import IsolatedOperator
from my_ops import ShoutOperator

SUFFIX = "?"


def helper(word):
    return shout(word) + SUFFIX


def shout(word):
    return ShoutOperator(task_id="inner", word=word).word.upper()


class EchoOperator(BaseOperator):
    template_fields = ("word",)

    def __init__(self, word, **kwargs):
        super().__init__(**kwargs)
        self.word = word

    def execute(self, context):
        import airflow

        return {{"said": helper(self.word), "airflow": airflow.__version__}}


def uses_helper(word):
    return helper(word)


with DAG("in_dag_file_{env}", start_date=pendulum.datetime(2024, 1, 1), schedule=None, catchup=False):
    echo = IsolatedOperator(task_id="echo", environment="{env}", operator=EchoOperator, word="{{{{ ds }}}}")
    by_callable = IsolatedOperator(task_id="by_callable", environment="{env}", python_callable=uses_helper,
                                   op_args=["fn"])

    @task
    def check(echo, by_callable):
        assert echo["said"] == "2024-01-02?", echo
        assert echo["airflow"].startswith("{version}"), echo
        assert by_callable == "FN?", by_callable
        return "checked"

    check(echo.output, by_callable.output)


@dag(start_date=pendulum.datetime(2024, 1, 1), schedule=None, catchup=False)
def another_dag_in_the_file_{env}():
    EchoOperator(task_id="native", word="x")


another_dag_in_the_file_{env}()
"""


@pytest.mark.parametrize(("env_name", "version"), [("af31", "3.1"), ("af210", "2.10")])
def test_code_in_the_dag_file_itself_runs(
    env_name: str, version: str, tmp_path: Path, airflow_db: None, built_envs: list[str]
) -> None:
    """An operator class and a callable's helpers defined in the DAG file run in the target with
    what they use of the file (a module beside the DAG included); the DAG definitions do not."""
    dags = tmp_path / "dags"
    _write(dags, {
        "my_ops.py": MY_OPS,
        "helpers/__init__.py": "",
        "helpers/fmt.py": FMT,
        f"in_dag_file_{env_name}.py": IN_DAG_FILE.format(env=env_name, version=version),
    })  # fmt: skip
    _write(tmp_path / "plugins", {"plugin_tone.py": 'TONE = "!!"\n'})
    folders = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(tmp_path / "plugins"),
    }
    report = run_dag(f"in_dag_file_{env_name}", host_env(extra=folders))
    expected = {"echo": "success", "by_callable": "success", "check": "success"}
    assert {k: report.state(k) for k in expected} == expected, report.output[-8000:]

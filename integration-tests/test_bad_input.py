"""Bad input fails early, clearly, and names the fix: at DAG parse time where possible."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import msgspec
import pytest
from harness import BUILD_PATH, TEST_ENVIRONMENTS

from airflow_isolation.core import (
    SCHEMA_VERSION,
    CallableSpec,
    IsolationRequest,
    SchemaVersion,
    TaskContext,
    decode_result,
    encode,
)
from airflow_isolation.workspace.environment import resolve_venv

DAG_TEMPLATE = """
import threading
import pendulum
from airflow.sdk import DAG
from airflow_isolation.operator import IsolatedOperator

def work():
    return 1

with DAG(dag_id="bad", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    IsolatedOperator(task_id="t", {args})
"""

CASES = {
    "unknown_operator": (
        'environment="plain", operator="airflow.providers.nope.operators.x.Foo"',
        ["cannot import 'airflow.providers.nope.operators.x.Foo' on the host", "operator_template_fields"],
    ),
    "unknown_class": (
        'environment="plain", bash_command="x", '
        'operator="airflow.providers.standard.operators.bash.BashOperatr"',
        ["has no class 'BashOperatr'"],
    ),
    "unencodable_kwarg": (
        'environment="plain", operator="airflow.providers.standard.operators.python.PythonOperator", '
        'python_callable=work, op_kwargs={"lock": threading.Lock()}',
        ["kwargs['op_kwargs']['lock']", "_thread.lock", "cannot send"],
    ),
    "missing_environment": (
        'environment="nope", python_callable=work',
        ["environment 'nope' not found", "isolationctl env create nope"],
    ),
    "unknown_backend": (
        'environment="plain", backend="lambda", python_callable=work',
        ["unknown backend 'lambda'", "venv"],
    ),
    "misspelt_kwarg": (
        'environment="plain", bash_comand="ls", '
        'operator="airflow.providers.standard.operators.bash.BashOperator"',
        ["unexpected keyword argument(s) 'bash_comand'"],
    ),
    "missing_required_kwarg": (
        'environment="plain", operator="airflow.providers.standard.operators.bash.BashOperator"',
        ["missing required argument(s) 'bash_command'"],
    ),
    "lambda_callable": (
        'environment="plain", python_callable=lambda: 1',
        ["lambdas cannot be shipped"],
    ),
    "wrong_type_operator_kwarg": (
        'environment="plain", bash_command=["ls"], '
        'operator="airflow.providers.standard.operators.bash.BashOperator"',
        ["BashOperator argument bash_command=['ls'] has type list", "declares bash_command: str"],
    ),
    "wrong_type_op_kwargs": (
        'environment="plain", python_callable=work, op_kwargs=["2024-01-01"]',
        ["op_kwargs must be a dict of argument names to values", "not list"],
    ),
    "connections_as_string": (
        'environment="plain", python_callable=work, connections="warehouse"',
        ["connections must be a list of names, e.g. connections=['warehouse']"],
    ),
    "unknown_write_back": (
        'environment="plain", python_callable=work, write_back=["xcoms"]',
        ["unknown write_back kind(s) ['xcoms']", "'xcom', 'variables'"],
    ),
    "wrong_type_backend_option": (
        'environment="plain", python_callable=work, backend="docker", backend_options={"mem_limit": [1]}',
        ["mem_limit"],
    ),
    "malformed_environment_toml": (
        'environment="broken_toml", python_callable=work',
        ["broken_toml/environment.toml is not a valid environment definition", "Allowed keys: python"],
    ),
    "environment_field_of_wrong_type": (
        'environment="python_as_number", python_callable=work',
        ["Expected `str`, got `float` - at `$.python`"],
    ),
    "environment_unknown_field": (
        'environment="misspelt_field", python_callable=work',
        ["unknown field `requirement`", "Allowed keys: python, requirements"],
    ),
}
MALFORMED_DEFINITIONS = {
    "broken_toml": 'python = "3.11"\nrequirements = ["pandas"\n',
    "python_as_number": "python = 3.11\n",
    "misspelt_field": 'python = "3.11"\nrequirement = ["pandas"]\n',
}


def _parse_errors(dag_folder: Path) -> str:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag
    bag = DagBag(dag_folder=str(dag_folder))
    return "\n".join(bag.import_errors.values())


@pytest.mark.parametrize("case", sorted(CASES))
def test_parse_time_errors(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    environments = tmp_path / "environments"
    shutil.copytree(TEST_ENVIRONMENTS / "plain", environments / "plain")
    for name, text in MALFORMED_DEFINITIONS.items():
        (environments / name).mkdir()
        (environments / name / "environment.toml").write_text(text)
    monkeypatch.setenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", str(environments))
    args, expected = CASES[case]
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "bad_dag.py").write_text(DAG_TEMPLATE.format(args=args))
    errors = _parse_errors(tmp_path / "dags")
    for fragment in expected:
        assert fragment in errors, f"{fragment!r} not in the import error:\n{errors}"


def _plain_python(built_envs: list[str]) -> str:
    return str(resolve_venv(TEST_ENVIRONMENTS, BUILD_PATH, "plain").interpreter)


def _run_runtime(python: str, request: bytes, tmp_path: Path) -> tuple[int, str, Path]:
    request_file, result_file = tmp_path / "request", tmp_path / "result"
    request_file.write_bytes(request)
    proc = subprocess.run(  # noqa: PLW1510 - the return code is asserted
        [
            python,
            "-m",
            "airflow_isolation.runtime",
            "--request",
            str(request_file),
            "--result",
            str(result_file),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, proc.stdout + proc.stderr, result_file


def _request(schema: SchemaVersion) -> IsolationRequest:
    return IsolationRequest(
        schema=schema,
        task=CallableSpec(name="f", source="def f():\n    return 1\n"),
        context=TaskContext(dag_id="d", task_id="t", run_id="r"),
    )


def test_schema_major_mismatch_names_both_versions(tmp_path: Path, built_envs: list[str]) -> None:
    future = SchemaVersion(SCHEMA_VERSION.major + 1, 0)
    code, output, result_file = _run_runtime(_plain_python(built_envs), encode(_request(future)), tmp_path)
    assert code == 2, output
    assert f"wire schema {future}" in output and f"speaks {SCHEMA_VERSION}" in output and "Upgrade" in output
    result = decode_result(result_file.read_bytes())
    assert result.status == "failed" and result.error is not None
    assert "SchemaVersionError" in result.error.type


def test_newer_minor_is_accepted(tmp_path: Path, built_envs: list[str]) -> None:
    newer = SchemaVersion(SCHEMA_VERSION.major, SCHEMA_VERSION.minor + 5)
    payload = msgspec.msgpack.decode(encode(_request(newer)))
    payload["a_field_from_the_future"] = {"x": 1}
    code, output, result_file = _run_runtime(
        _plain_python(built_envs), msgspec.msgpack.encode(payload), tmp_path
    )
    assert code == 0, output
    assert decode_result(result_file.read_bytes()).return_value == 1


@pytest.mark.parametrize("corruption", ["garbage", "truncated", "empty"])
def test_corrupted_request_file(corruption: str, tmp_path: Path, built_envs: list[str]) -> None:
    good = encode(_request(SCHEMA_VERSION))
    data = {"garbage": b"\x93not a request at all", "truncated": good[: len(good) // 2], "empty": b""}[
        corruption
    ]
    code, output, result_file = _run_runtime(_plain_python(built_envs), data, tmp_path)
    assert code == 2, output
    assert "corrupted, truncated or not an airflow-isolation request" in output
    assert decode_result(result_file.read_bytes()).status == "failed"


def test_unbuilt_environment_names_the_build_command(tmp_path: Path) -> None:
    envs = tmp_path / "envs"
    (envs / "fresh").mkdir(parents=True)
    (envs / "fresh" / "environment.toml").write_text('python = "3.11"\n')
    from airflow_isolation.workspace.environment import IsolationEnvironmentError

    with pytest.raises(IsolationEnvironmentError, match="isolationctl env build fresh --target venv"):
        resolve_venv(envs, tmp_path / "build", "fresh")

"""Write-backs the target cannot do become errors naming the alternative, or are buffered into the
result when the task opted in.

The interpreter is this test's own (the host's Airflow 3 installed); the Airflow 2.10 target runs
the same rules in integration-tests/test_write_back.py.
"""

from __future__ import annotations

from pathlib import Path

from runtime_test_support import callable_from_source, run

from airflow_isolation.core import RunOptions, VariableWrite

SET_VARIABLE = """
    def f():
        from airflow.sdk import Variable
        Variable.set("day", "2024-01-02", description="from the target")
        Variable.set("cfg", {"n": [1]}, serialize_json=True)
        return [Variable.get("day"), Variable.get("cfg", deserialize_json=True)]
"""


def test_variable_set_is_refused_without_opt_in(tmp_path: Path) -> None:
    code, out, result = run(callable_from_source(SET_VARIABLE), tmp_path)
    assert code == 1, out
    assert result.error is not None and result.error.type.endswith("WriteBackRefused")
    assert "Variable.set('day') cannot run in an isolated task" in result.error.message
    assert 'write_back=["xcom", "variables"]' in result.error.message
    assert result.variable_writes == []


def test_variable_set_is_buffered_with_opt_in(tmp_path: Path) -> None:
    code, out, result = run(
        callable_from_source(SET_VARIABLE), tmp_path, options=RunOptions(variable_write_back=True)
    )
    assert code == 0, out
    assert result.return_value == ["2024-01-02", {"n": [1]}]
    assert result.variable_writes == [
        VariableWrite("day", "2024-01-02", "from the target"),
        VariableWrite("cfg", '{\n  "n": [\n    1\n  ]\n}', None),
    ]


def test_models_variable_and_delete_are_covered_too(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f():
            from airflow.models.variable import Variable
            Variable.set("a", 1)
            Variable.delete("a")
    """)
    code, out, result = run(fn, tmp_path, options=RunOptions(variable_write_back=True))
    assert code == 1, out
    assert result.error is not None and "Variable.delete('a') cannot run" in result.error.message
    assert result.variable_writes == [], "writes of a failed task are not sent back"


def test_database_sessions_are_refused(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f():
            from airflow.utils.session import create_session
            with create_session() as session:
                session.get_bind()
    """)
    code, out, result = run(fn, tmp_path)
    assert code == 1, out
    assert result.error is not None
    assert "opened an Airflow metadata database session" in result.error.message

"""``warm_start.warm_else_cold``: the one way both backends try warm, else start cold."""

from __future__ import annotations

from typing import List, Optional

import pytest

from airflow_isolation.operator.backends.warm_start import TASK_TURNED_OFF, ColdStart, warm_else_cold


def _cold() -> str:
    return "cold"


def test_warm_when_task_and_worker_allow_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm path says it started the task itself, once the task is in a warm target."""
    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME", "True")
    lines: List[str] = []
    assert warm_else_cold(None, lambda: "warm", _cold, lines.append) == "warm"
    assert lines == []


@pytest.mark.parametrize(
    ("task", "worker", "said"),
    [
        (TASK_TURNED_OFF, "True", "backend_options={'warm': False}"),
        (None, "False", "[isolation] warm_runtime = False"),
        (None, "off", "[isolation] warm_runtime = False"),
        ("run_as_user='etl': a warm runtime runs as the worker's user", "False", "run_as_user='etl'"),
    ],
)
def test_cold_saying_which_turned_warm_starts_off(
    task: Optional[str], worker: str, said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME", worker)
    lines: List[str] = []

    def warm() -> str:
        raise AssertionError("a warm start was tried although it is off")

    assert warm_else_cold(task, warm, _cold, lines.append) == "cold"
    assert len(lines) == 1 and lines[0].startswith("[airflow-isolation] starting cold: "), lines
    assert said in lines[0], lines


def test_cold_start_says_why_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME", "True")
    lines: List[str] = []

    def warm() -> str:
        raise ColdStart("no standby container is waiting")

    assert warm_else_cold(None, warm, _cold, lines.append) == "cold"
    assert lines == ["[airflow-isolation] starting cold: no standby container is waiting"]


def test_any_other_failure_of_the_warm_path_is_never_retried_cold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only ``ColdStart`` says nothing of the task ran; anything else may come after it did."""
    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME", "True")
    ran: List[str] = []

    def warm() -> str:
        raise RuntimeError("lost the warm target after it took the task")

    def cold() -> str:
        ran.append("cold")
        return "cold"

    with pytest.raises(RuntimeError, match="lost the warm target"):
        warm_else_cold(None, warm, cold, ran.append)
    assert ran == []

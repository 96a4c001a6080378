"""Fifty isolated tasks at once, run by a real scheduler with the LocalExecutor.

The ``isolated_fanout`` DAG (``dags/fanout.py``) runs in a deployment of its own (see
``deployment.py``): fifty venv-backend tasks in the ``plain`` environment, a host task that checks
all fifty XComs, and a task that fails its first try and succeeds on the scheduler's retry. Each
target records when it ran; the records show how many ran at the same time. Nothing of the runs may
be left behind: no target process, no request folder in the deployment's ``TMPDIR``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Dict, List, Tuple

from deployment import Deployment, airflow_deployment, processes_mentioning
from harness import TEST_DAGS, build_environment

DAG_ID = "isolated_fanout"
RUN_ID = "fanout_1"
WIDTH = 50
HOLD_SECONDS = 5
"""How long each target stays up after its work: long enough for the others to start."""
MIN_OVERLAP = 10
"""Fewer targets at once than this means the executor did not run them side by side. Measured:
20 to 50 on two cores (the task processes' DAG parsing, which runs first, staggers the starts)."""
SETTINGS = {
    "AIRFLOW__CORE__PARALLELISM": "64",
    "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "64",
    # Each task process parses the DAG file before it runs; fifty of them parse at once.
    "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
}


def _expected(index: int) -> Dict[str, object]:
    digest = hashlib.sha256(f"task {index}".encode() * 10_000).hexdigest()
    return {"index": index, "square": index * index, "digest": digest}


def max_overlap(spans: List[Tuple[float, float]]) -> int:
    """The largest number of ``(start, end)`` spans open at one instant."""
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def _task_states(airflow: Deployment) -> Dict[str, Tuple[str, int]]:
    rows = airflow.query(
        "select task_id, state, try_number from task_instance where dag_id = ? and run_id = ?", DAG_ID, RUN_ID
    )
    return {task_id: (state, try_number) for task_id, state, try_number in rows}


def test_fifty_isolated_tasks_at_once(tmp_path: Path) -> None:
    build_environment("plain")
    dags, records = tmp_path / "dags", tmp_path / "records"
    dags.mkdir()
    records.mkdir()
    shutil.copy(TEST_DAGS / "fanout.py", dags)

    began = time.monotonic()
    with airflow_deployment(
        tmp_path / "airflow", dags, {**SETTINGS, "ISOLATION_TEST_RECORDS": str(records)}
    ) as airflow:
        airflow.wait_until_serving(DAG_ID)
        serving = time.monotonic()
        airflow.trigger(DAG_ID, RUN_ID, {"record_dir": str(records), "hold_seconds": HOLD_SECONDS})
        airflow.wait_for(
            f"the run {RUN_ID} ending",
            lambda: airflow.run_state(DAG_ID, RUN_ID) in ("success", "failed"),
            timeout=900,
        )
        ran = time.monotonic()
        run_state = airflow.run_state(DAG_ID, RUN_ID)
        states = _task_states(airflow)
        targets_left = processes_mentioning(str(airflow.tmp))
        files_left = sorted(p.name for p in airflow.tmp.glob("airflow-isolation-*"))
        unsuccessful = [task for task, (state, _) in states.items() if state != "success"]
        failures = airflow.log_tails(DAG_ID, RUN_ID, unsuccessful)

    spans = []
    for index in range(WIDTH):
        path = records / f"work_{index:02d}.json"
        assert path.exists(), f"the target of work_{index:02d} left no record: {states}\n{failures}"
        record = json.loads(path.read_text())
        spans.append((record["start"], record["end"]))
    overlap = max_overlap(spans)
    print(
        f"\n{WIDTH} isolated tasks: deployment up in {serving - began:.0f} s, "
        f"run took {ran - serving:.0f} s, up to {overlap} targets at once, "
        f"whole test {time.monotonic() - began:.0f} s"
    )

    assert run_state == "success", f"{states}\n{failures}"
    assert len(states) == WIDTH + 2, states
    assert {task: state for task, state in states.items() if task != "flaky"} == {
        **{f"work_{index:02d}": ("success", 1) for index in range(WIDTH)},
        "collect": ("success", 1),
    }
    assert states["flaky"] == ("success", 2), "flaky should succeed on its second try"
    assert json.loads((records / "flaky.json").read_text()) == {"first": 1, "retry": 2}

    collected = json.loads((records / "collected.json").read_text())
    assert collected == [_expected(index) for index in range(WIDTH)]
    assert overlap >= MIN_OVERLAP, f"at most {overlap} of {WIDTH} targets ran at once: {sorted(spans)}"

    assert targets_left == set(), "target processes outlived their tasks"
    assert files_left == [], "request folders were left in TMPDIR"

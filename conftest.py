"""Repository-wide pytest setup.

``testing/`` (the rule for real components every suite shares) is put on the path. Airflow reads
``AIRFLOW_HOME`` once, at import: point it at a throwaway folder before any test
module imports Airflow, so tests never touch a developer's real Airflow installation. Each
pytest-xdist worker gets a folder of its own inside it: Airflow's configuration file and metadata
database live there, and two workers must not write one database.
"""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "testing"))  # real_components

_CREATED_HOME = None
if "ISOLATION_TEST_AIRFLOW_HOME" not in os.environ:
    _CREATED_HOME = tempfile.mkdtemp(prefix="isolation-test-airflow-home-")
    os.environ["ISOLATION_TEST_AIRFLOW_HOME"] = _CREATED_HOME
_HOME = Path(os.environ["ISOLATION_TEST_AIRFLOW_HOME"])
if os.environ.get("PYTEST_XDIST_WORKER"):
    _HOME = _HOME / os.environ["PYTEST_XDIST_WORKER"]
    _HOME.mkdir(parents=True, exist_ok=True)
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Under ``scripts/run_tiers.py``: write what the closing line counts, for the run's totals."""
    tally = os.environ.get("ISOLATION_TEST_TALLY")
    if not tally or hasattr(config, "workerinput"):
        return
    parts, _color = terminalreporter.build_summary_stats_line()
    counts = {}
    for text, _markup in parts:
        number, _, kind = text.partition(" ")
        if number.isdigit():
            counts[{"warning": "warnings", "error": "errors"}.get(kind, kind)] = int(number)
    Path(tally).write_text(json.dumps(counts))


def pytest_unconfigure(config: Any) -> None:
    """The Airflow home this process made goes with it (a worker's lies inside the controller's)."""
    if _CREATED_HOME is not None and not hasattr(config, "workerinput"):
        shutil.rmtree(_CREATED_HOME, ignore_errors=True)

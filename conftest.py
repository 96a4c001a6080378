"""Repository-wide pytest setup.

``testing/`` (the rule for real components every suite shares) is put on the path. Airflow reads
``AIRFLOW_HOME`` once, at import: point it at a throwaway folder before any test
module imports Airflow, so tests never touch a developer's real Airflow installation. Each
pytest-xdist worker gets a folder of its own inside it: Airflow's configuration file and metadata
database live there, and two workers must not write one database.

Under pytest-xdist, the tests that use the Docker engine all run on one worker (the
``docker-engine`` group of ``--dist loadgroup``): some check what the engine holds by label, which
another worker's containers would change.
"""

import functools
import inspect
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, List

import pytest

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


ENGINE_GATEWAY = "docker_engine("
"""How every suite asks for the Docker engine (testing/real_components.py)."""


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    for item in items:
        if _uses_docker_engine(item):
            item.add_marker(pytest.mark.xdist_group("docker-engine"))


def _uses_docker_engine(item: pytest.Item) -> bool:
    """The test, or a fixture it takes (directly or through another), asks for the engine."""
    functions = [getattr(item, "obj", None)]
    info = getattr(item, "_fixtureinfo", None)
    if info is not None:
        functions += [fixture.func for defs in info.name2fixturedefs.values() for fixture in defs]
    return any(callable(function) and ENGINE_GATEWAY in _source(function) for function in functions)


@functools.cache
def _source(function: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):  # built-in or generated: not one of ours
        return ""


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

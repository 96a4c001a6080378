"""The compatibility matrix, run from one host environment: this host's Airflow and Python against
every target on the same Python, on the venv and docker backends, each cell one real run of the
conformance DAG judged by ``conformance_expectations`` (the same checks as ``test_conformance``).

Run it through hatch (``hatch run +host=2.10 +py=3.10 matrix:conformance``, or
``hatch run matrix:conformance`` for every host and Python); the cells are marked ``matrix`` and left
out of ``hatch run test``, which only checks here that the matrix and its documentation agree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conformance_expectations import CONNECTIONS, check_conformance
from harness import (
    TEST_DAGS,
    build_environment,
    build_image,
    docker_client,
    host_env,
    missing,
    require_base_image,
    run_dag,
)
from matrix import (
    BACKENDS,
    BASE_IMAGES,
    CI_CELLS,
    CONFORMANCE_CELLS,
    HOSTS,
    IMPOSSIBLE,
    MATRIX_ENVIRONMENTS,
    PYTHONS,
    REFUSED_REQUIREMENTS,
    TARGETS,
    Cell,
    all_cells,
    expected_definitions,
    host_key,
)

MATRIX_PAGE = Path(__file__).resolve().parent.parent / "docs" / "compatibility-matrix.md"
PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _host() -> str | None:
    try:
        from airflow import __version__
    except ImportError:
        return None
    return host_key(__version__)


def _this_host_cells() -> list:
    host = _host()
    params = []
    for cell, reason in all_cells():
        if cell.host != host or cell.python != PYTHON or reason is not None:
            continue
        marks = [pytest.mark.matrix] + ([pytest.mark.ci_subset] if cell in CI_CELLS else [])
        params.append(pytest.param(cell, marks=marks, id=cell.id))
    return params


def _require_python(python: str) -> None:
    """The interpreter ``isolationctl`` would build the target with, found as it finds it."""
    from airflow_isolation.cli.errors import CliError
    from airflow_isolation.cli.resolve.python_finder import find_python

    try:
        find_python(python)
    except CliError as exc:
        missing(f"Python {python} for the target environments ({exc})")


@pytest.mark.parametrize("cell", _this_host_cells())
def test_cell(cell: Cell, airflow_db: None) -> None:
    _require_python(cell.python)
    if cell.backend == "venv":
        build_environment(cell.environment, MATRIX_ENVIRONMENTS)
    else:
        require_base_image(docker_client(), BASE_IMAGES[cell.python][1])
        build_image(cell.environment, BASE_IMAGES[cell.python][1], MATRIX_ENVIRONMENTS)
    only_this_cell = [[cell.dag_id, cell.environment, cell.backend, cell.has_airflow]]
    env = host_env(
        MATRIX_ENVIRONMENTS, extra={**CONNECTIONS, "ISOLATION_CONFORMANCE_CELLS": json.dumps(only_this_cell)}
    )
    report = run_dag(cell.dag_id, env, dag_file=TEST_DAGS / "conformance.py")
    check_conformance(report, cell.has_airflow)


def test_ci_covers_every_host_target_python_and_backend() -> None:
    """What CI runs (the subset plus test_conformance's cells) names every value of every axis."""
    ran = CI_CELLS + CONFORMANCE_CELLS
    assert {c.host for c in ran} == set(HOSTS)
    assert {c.target for c in ran} == set(TARGETS)
    assert {c.python for c in ran} == set(PYTHONS)
    assert {c.backend for c in ran} == set(BACKENDS)
    possible = {cell for cell, reason in all_cells() if reason is None}
    assert set(ran) <= possible


def test_target_definitions_are_generated_from_the_matrix() -> None:
    """The checked-in definitions are exactly what ``matrix.py --write`` makes: no stale, no missing."""
    expected = expected_definitions()
    found = {path.parent.name: path.read_text() for path in MATRIX_ENVIRONMENTS.glob("*/environment.toml")}
    assert found == expected, "run `python integration-tests/matrix.py --write`"


def test_matrix_page_lists_every_cell() -> None:
    """Every cell, possible or not, has its entry in the documentation's compatibility table: a result on both
    backends for a possible cell, "impossible" (with the footnoted reason) for one that cannot exist."""
    from matrix_report import parse_table

    entries = parse_table(MATRIX_PAGE.read_text())
    for cell, reason in all_cells():
        entry = entries.get((cell.host, cell.target, cell.python))
        assert entry is not None, f"docs/compatibility-matrix.md has no entry for {cell.id}"
        if reason is not None:
            assert entry.startswith("impossible"), f"{cell.id} cannot exist ({reason}); it says {entry!r}"
        else:
            results = [part.strip() for part in entry.split("/")]
            assert len(results) == 2 and all(r in ("pass", "FAIL") for r in results), (cell.id, entry)


@pytest.mark.parametrize("entry", sorted(IMPOSSIBLE), ids=[f"{w}-py{py}" for w, py in sorted(IMPOSSIBLE)])
def test_impossible_cells_are_refused_by_pip(entry: tuple, tmp_path: Path) -> None:
    """The reason an impossible cell is listed still holds: pip refuses the requirement on that Python
    because of its Requires-Python (if a release ever allows it, the cell must join the matrix)."""
    requirement, python = REFUSED_REQUIREMENTS[entry], entry[1]
    proc = subprocess.run(  # noqa: PLW1510 - the return code is asserted
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version",
         python, "--dest", str(tmp_path), "--disable-pip-version-check", requirement],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    if "Could not fetch URL" in output or "NewConnectionError" in output:
        pytest.fail(f"PyPI is not reachable, so {entry} could not be checked:\n{output[-2000:]}")
    assert proc.returncode != 0, f"pip now installs {requirement} on Python {python}: {entry} is possible"
    assert "No matching distribution found" in output and "Requires-Python" in output, output[-2000:]

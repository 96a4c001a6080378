"""The version-skew compatibility matrix: which host Airflow, target Airflow and Python meet in a cell.

A cell is (host Airflow H, target T, Python P): the host runs on P and so does the target (a host
and target on different Pythons are covered by ``test_conformance``). Every possible cell runs the
conformance DAG (``dags/conformance.py``) on the ``venv`` and ``docker`` backends. A cell that cannot
exist is listed in ``IMPOSSIBLE`` with the failure that was observed when it was tried, never
dropped silently.

``python integration-tests/matrix.py --write`` regenerates the target definitions under
``environments/matrix/`` (a test checks the checked-in files match this module).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

MATRIX_ENVIRONMENTS = Path(__file__).resolve().parent / "environments" / "matrix"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
HOSTS = {"2.10": "2.10.5", "3.1": "3.1.8", "3.3": "3.3.2"}
"""Host Airflow of each ``hatch run +host=H matrix:conformance`` environment (see hatch.toml)."""
BACKENDS = ("venv", "docker")
BASE_IMAGES = {
    "3.10": ("jammy", "isolation-base:jammy"),
    "3.11": ("bookworm", "isolation-base:bookworm"),
    "3.12": ("noble", "isolation-base:noble"),
    "3.13": ("trixie", "isolation-base:trixie"),
}
"""Python of the image -> (debootstrap suite, tag) made by ``scripts/build_base_image.sh SUITE TAG``."""


@dataclass(frozen=True)
class Target:
    """A target environment kind; ``airflow`` is ``None`` for plain callables without Airflow."""

    key: str
    airflow: Optional[str]
    requirements: Tuple[str, ...]


TARGETS = {
    "none": Target("none", None, ()),
    "af29": Target("af29", "2.9.3", ("apache-airflow==2.9.3", "apache-airflow-providers-standard")),
    "af210": Target("af210", "2.10.5", ("apache-airflow==2.10.5", "apache-airflow-providers-standard")),
    "af31": Target("af31", "3.1.8", ("apache-airflow==3.1.8", "apache-airflow-providers-sqlite")),
    "af33": Target("af33", "3.3.2", ("apache-airflow==3.3.2", "apache-airflow-providers-sqlite")),
}

_NO_313 = (
    "apache-airflow {version} declares Requires-Python <3.13: pip refuses it on Python 3.13 "
    '("No matching distribution found for apache-airflow=={version}"). uv ignores Requires-Python '
    "upper bounds and would install it anyway (`isolationctl env build` refuses such a target "
    "environment, naming the package); Airflow does not support it, so it is not part of the matrix"
)
REFUSED_REQUIREMENTS: Dict[Tuple[str, str], str] = {
    ("host:2.10", "3.13"): "apache-airflow==2.10.5",
    ("target:af210", "3.13"): "apache-airflow==2.10.5",
    ("target:af29", "3.13"): "apache-airflow==2.9.3",
}
"""The requirement pip refuses for each impossible entry (``test_matrix`` asks pip again)."""
IMPOSSIBLE: Dict[Tuple[str, str], str] = {
    ("host:2.10", "3.13"): _NO_313.format(version="2.10.5"),
    ("target:af210", "3.13"): _NO_313.format(version="2.10.5"),
    ("target:af29", "3.13"): _NO_313.format(version="2.9.3"),
}
"""(``host:H`` or ``target:T``, Python) -> why no cell with it can exist on that Python (observed
2026-11-23 with pip and uv 0.13 on CPython 3.13.0)."""


def environment_name(target: str, python: str) -> str:
    return f"{target}-py{python.replace('.', '')}"


def impossible_reason(host: str, target: str, python: str) -> Optional[str]:
    return IMPOSSIBLE.get((f"host:{host}", python)) or IMPOSSIBLE.get((f"target:{target}", python))


@dataclass(frozen=True)
class Cell:
    host: str
    target: str
    python: str
    backend: str

    @property
    def environment(self) -> str:
        return environment_name(self.target, self.python)

    @property
    def has_airflow(self) -> bool:
        return TARGETS[self.target].airflow is not None

    @property
    def dag_id(self) -> str:
        return f"conformance_{self.environment}_{self.backend}".replace(".", "_")

    @property
    def id(self) -> str:
        return f"host{self.host}-{self.target}-py{self.python}-{self.backend}"


def all_cells() -> List[Tuple[Cell, Optional[str]]]:
    """Every cell of the matrix with the reason it cannot exist (``None`` when it can)."""
    return [
        (Cell(host, target, python, backend), impossible_reason(host, target, python))
        for host in HOSTS
        for target in TARGETS
        for python in PYTHONS
        for backend in BACKENDS
    ]


CI_CELLS = (
    Cell("2.10", "af29", "3.10", "venv"),
    Cell("2.10", "none", "3.10", "docker"),
    Cell("3.1", "af33", "3.12", "venv"),
    Cell("3.3", "none", "3.13", "docker"),
)
"""The covering subset ``.ci/run`` runs (the whole matrix does not fit CI's time). With the cells
``test_conformance`` already runs (host 3.3 on Python 3.11 against af210 and af31, venv and docker)
every host, every target, every Python and both backends appear at least once. Docker cells use the
no-Airflow target: an image with Airflow costs minutes to build, and the Airflow-in-Docker path is
``test_conformance``'s af210 docker cell."""


CONFORMANCE_CELLS = (
    Cell("3.3", "af210", "3.11", "venv"),
    Cell("3.3", "af31", "3.11", "venv"),
    Cell("3.3", "af210", "3.11", "docker"),
)
"""The matrix cells ``test_conformance`` runs in ``hatch run test`` (its host is the default
environment's Airflow 3.3 on Python 3.11); its other cells pair a host and a target on different
Pythons."""


def host_key(airflow_version: str) -> str:
    """``"2.10.5"`` -> ``"2.10"``: the ``host`` matrix variable an installed Airflow belongs to."""
    key = ".".join(airflow_version.split(".")[:2])
    if key not in HOSTS:
        raise ValueError(f"host Airflow {airflow_version} is not a matrix host ({', '.join(HOSTS)})")
    return key


def definition_text(target: str, python: str) -> str:
    spec = TARGETS[target]
    what = f"Airflow {spec.airflow}" if spec.airflow else "no Airflow"
    requirements = ", ".join(f'"{r}"' for r in spec.requirements)
    return (
        f'description = "Compatibility matrix target: {what} on Python {python} '
        '(integration-tests/matrix.py)"\n'
        f'python = "{python}"\n'
        f'base_image = "{BASE_IMAGES[python][1]}"\n'
        f"requirements = [{requirements}]\n"
    )


def expected_definitions() -> Dict[str, str]:
    """Every target definition the matrix needs, as ``name -> environment.toml`` text."""
    return {
        environment_name(target, python): definition_text(target, python)
        for target in TARGETS
        for python in PYTHONS
        if (f"target:{target}", python) not in IMPOSSIBLE
    }


def write_definitions() -> None:
    for name, text in expected_definitions().items():
        folder = MATRIX_ENVIRONMENTS / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "environment.toml").write_text(text)


def ci_environments() -> List[Tuple[str, str]]:
    """The (host, Python) hatch environments holding ``CI_CELLS``, in order."""
    return list(dict.fromkeys((cell.host, cell.python) for cell in CI_CELLS))


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write_definitions()
    elif sys.argv[1:] == ["--ci-environments"]:
        print("\n".join(f"{host} {python}" for host, python in ci_environments()))
    else:
        sys.exit("usage: python integration-tests/matrix.py --write | --ci-environments")

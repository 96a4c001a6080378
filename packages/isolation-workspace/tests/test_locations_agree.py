"""The CLI and the operator find the same environments and build folders in every combination of
settings: what ``isolationctl env create``/``env build`` write is where tasks look.

The operator reads Airflow's configuration through Airflow (here: its ``AIRFLOW__ISOLATION__*``
variables and an ``airflow.cfg`` read into the live configuration); the CLI reads the same variables
and the same file without importing Airflow.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("airflow")
pytest.importorskip("airflow_isolation.operator")
pytest.importorskip("airflow_isolation.cli")

from airflow.configuration import conf

from airflow_isolation.cli.settings import resolve_settings
from airflow_isolation.operator import environments

VARIABLES = ("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", "AIRFLOW__ISOLATION__BUILD_PATH")
TOML_CASES = ("absent", "named by the variable", "found from the working directory")
CASES = list(itertools.product((False, True), (False, True), TOML_CASES, (False, True)))


@pytest.fixture
def airflow_cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An ``airflow.cfg`` with an ``[isolation]`` section, read by both sides; removed afterwards."""
    path = tmp_path / "airflow.cfg"
    path.write_text(
        f"[isolation]\nenvironments_path = {tmp_path}/cfg-envs\nbuild_path = {tmp_path}/cfg-build\n"
    )
    had_section = conf.has_section("isolation")
    before = dict(conf.items("isolation")) if had_section else {}
    yield path
    for key in ("environments_path", "build_path"):
        if key in before:
            conf.set("isolation", key, before[key])
        elif conf.has_option("isolation", key):
            conf.remove_option("isolation", key)


@pytest.mark.parametrize(
    "case",
    CASES,
    ids=[f"vars={v}-cfg={c}-toml={t.split()[0]}-home={h}" for v, c, t, h in CASES],
)
def test_cli_and_operator_resolve_the_same_folders(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    airflow_cfg: Path,
    case: tuple[bool, bool, str, bool],
) -> None:
    variables, config_file, toml, airflow_home = case
    for name in (*VARIABLES, "AIRFLOW__ISOLATION__SETTINGS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    home = tmp_path / "airflow-home"
    home.mkdir()
    monkeypatch.setenv("AIRFLOW_CONFIG", str(home / "no-airflow.cfg"))
    if airflow_home:
        monkeypatch.setenv("AIRFLOW_HOME", str(home))
    else:
        monkeypatch.delenv("AIRFLOW_HOME", raising=False)
    if variables:
        monkeypatch.setenv(VARIABLES[0], str(tmp_path / "var-envs"))
        monkeypatch.setenv(VARIABLES[1], str(tmp_path / "var-build"))
    if config_file:
        monkeypatch.setenv("AIRFLOW_CONFIG", str(airflow_cfg))
        conf.read(str(airflow_cfg))
    project = tmp_path / "project"
    (project / "dags").mkdir(parents=True)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    if toml != "absent":
        (project / "isolation.toml").write_text('environments_path = "envs"\nbuild_path = "builds"\n')
    if toml == "named by the variable":
        monkeypatch.setenv("AIRFLOW__ISOLATION__SETTINGS_FILE", str(project / "isolation.toml"))
    if toml == "found from the working directory":
        workdir = project / "dags"
    monkeypatch.chdir(workdir)

    cli = resolve_settings()
    if cli.settings_file_hidden_from_workers:
        # `isolationctl doctor` warns and says to set the variable; with it set, both sides agree.
        monkeypatch.setenv("AIRFLOW__ISOLATION__SETTINGS_FILE", str(cli.settings_file))
    operator = environments.locations()

    assert (cli.environments_path, cli.build_path) == (operator.environments.path, operator.build.path)
    if variables:
        assert cli.environments_path == tmp_path / "var-envs"
    elif config_file:
        assert cli.environments_path == tmp_path / "cfg-envs"
    elif toml != "absent":
        assert (cli.environments_path, cli.build_path) == (project / "envs", project / "builds")
    else:
        expected_home = home if airflow_home else Path.home() / "airflow"
        assert cli.environments_path == expected_home / "environments"
        assert cli.build_path == tmp_path / "cache" / "airflow-isolation"

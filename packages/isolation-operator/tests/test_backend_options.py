"""Choosing a backend and checking its options when the DAG is parsed (no Docker engine needed)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pendulum
import pytest

from airflow_isolation.operator.airflow_compat import AIRFLOW_MAJOR
from airflow_isolation.operator.backends import BackendOptionsError, parse_backend_options
from airflow_isolation.operator.backends.base import TargetExit
from airflow_isolation.operator.backends.docker.archive import request_archive
from airflow_isolation.operator.backends.docker.backend import describe_exit, split_lines
from airflow_isolation.operator.backends.docker.options import DockerOptions
from airflow_isolation.operator.backends.venv.options import VenvOptions
from airflow_isolation.operator.config.settings import BackendSettingError
from airflow_isolation.operator.exchange.result_handler import IsolatedTargetCrashed, read_result
from airflow_isolation.operator.operator import IsolatedOperator
from airflow_isolation.workspace.environment import IsolationEnvironmentError


def work() -> int:
    return 1


@pytest.fixture(autouse=True)
def defined_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "envs" / "pandas1").mkdir(parents=True)
    (tmp_path / "envs" / "pandas1" / "environment.toml").write_text('python = "3.11"\n')
    monkeypatch.setenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", str(tmp_path / "envs"))
    monkeypatch.delenv("AIRFLOW__ISOLATION__DEFAULT_BACKEND", raising=False)
    monkeypatch.delenv("AIRFLOW__ISOLATION__SETTINGS_FILE", raising=False)


def _op(**kwargs: object) -> IsolatedOperator:
    kwargs.setdefault("environment", "pandas1")
    return IsolatedOperator(task_id="t", python_callable=work, **kwargs)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mem": "1g"}, r"unknown option\(s\) 'mem' \(did you mean 'mem_limit'\?\); allowed keys: image, "),
        ({"mem_limit": "lots"}, r"mem_limit='lots' is not a size"),
        ({"mem_limit": "1m"}, r"below Docker's minimum"),
        ({"cpus": 0}, r"cpus=0.0 must be positive"),
        ({"pull": "sometimes"}, r"Invalid enum value 'sometimes' - at `\$.pull`"),
        (
            {"mounts": [{"src": "/data", "target": "/data"}]},
            r"unknown field `src`.*each entry of mounts takes",
        ),
        ({"mounts": [{"source": "/d", "target": "/isolation"}]}, r"would hide /isolation"),
        ({"mounts": [{"source": "data", "target": "/d"}]}, r"must be an absolute path on the worker"),
        ({"env": {"API_TOKEN": "x"}}, r"'API_TOKEN' looks like a secret.*connections=\[...\]"),
        ({"env": {"AIRFLOW_CONN_DB": "postgres://"}}, r"readable with `docker inspect`"),
        ({"env": {"COUNT": 3}}, r"Expected `str`, got `int`"),
        (["mem_limit"], r"backend_options must be a dict"),
    ],
)
def test_bad_docker_options_fail_at_parse_time(options: object, message: str) -> None:
    with pytest.raises(BackendOptionsError, match=r"IsolatedOperator 't': .*" + message):
        _op(backend="docker", backend_options=options)


def test_docker_options_convert_to_engine_units() -> None:
    options = parse_backend_options(
        "docker", {"cpus": 1.5, "mem_limit": "512m", "shm_size": 2**20, "env": {"MODE": "x"}}, "t"
    )
    assert isinstance(options, DockerOptions)
    assert (options.nano_cpus, options.memory_bytes, options.shm_bytes) == (1_500_000_000, 2**29, 2**20)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"mem_limit": "1g"},
            r"unknown option\(s\) 'mem_limit' \(did you mean 'memory_limit'\?\); "
            r"allowed keys: memory_limit, warm, env, inherit_env, mounts, network, run_as_user "
            r"\(images, cpus and other container settings apply to "
            r"backend='docker'\)",
        ),
        ({"image": "x"}, r"unknown option\(s\) 'image'"),
        ({"memory_limit": "32m"}, r"memory_limit='32m' is below 64m"),
        ({"memory_limit": "lots"}, r"memory_limit='lots' is not a size"),
        ({"memory_limit": -5}, r"memory_limit=-5 must be positive"),
        ({"warm": "sometimes"}, r"Expected `bool`, got `str` - at `\$.warm`"),
    ],
)
def test_bad_venv_options_fail_at_parse_time(options: object, message: str) -> None:
    with pytest.raises(
        BackendOptionsError, match=r"IsolatedOperator 't': backend_options for backend 'venv': " + message
    ):
        _op(backend="venv", backend_options=options)


def test_venv_warm_option() -> None:
    assert parse_backend_options("venv", {}, "t").warm is True
    assert parse_backend_options("venv", {"warm": False}, "t").warm is False


def test_venv_memory_limit() -> None:
    options = parse_backend_options("venv", {"memory_limit": "256m"}, "t")
    assert isinstance(options, VenvOptions) and options.memory_bytes == 256 * 2**20
    assert parse_backend_options("venv", {}, "t") == VenvOptions()
    assert _op(backend="venv", backend_options={}).backend == "venv"


def test_venv_options_that_need_the_sandbox() -> None:
    """A mount at its own path is there without the sandbox too; a moved one and a cut network
    are not, so only those refuse to run unsandboxed."""

    def needs(options: dict) -> object:
        parsed = parse_backend_options("venv", options, "t")
        assert isinstance(parsed, VenvOptions)
        return parsed.needs_sandbox

    assert needs({"mounts": [{"source": "/data"}, {"source": "/out", "target": "/out"}]}) is None
    assert needs({"mounts": [{"source": "/data", "target": "/in"}]}) == "mounts ['/data']"
    assert needs({"network": "none"}) == "network='none'"


def test_decorator_checks_backend_options_at_parse_time() -> None:
    from airflow_isolation.operator.decorator import isolated_task

    if AIRFLOW_MAJOR >= 3:
        from airflow.sdk import DAG
    else:
        from airflow import DAG

    with DAG("parse_check", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
        ok = isolated_task(environment="pandas1", backend="docker", backend_options={"cpus": 2})(work)()
        assert ok.operator.backend_options == {"cpus": 2}
        with pytest.raises(BackendOptionsError, match="did you mean 'mem_limit'"):
            isolated_task(environment="pandas1", backend="docker", backend_options={"memlimit": "1g"})(work)()


def test_default_backend_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _op().backend == "venv"
    settings = tmp_path / "isolation.toml"
    settings.write_text('default_backend = "docker"\n')
    monkeypatch.setenv("AIRFLOW__ISOLATION__SETTINGS_FILE", str(settings))
    assert _op().backend == "docker"
    monkeypatch.setenv("AIRFLOW__ISOLATION__DEFAULT_BACKEND", "venv")
    assert _op().backend == "venv", "Airflow configuration wins over the settings file"
    monkeypatch.setenv("AIRFLOW__ISOLATION__DEFAULT_BACKEND", "dokcer")
    with pytest.raises(BackendSettingError, match=r"\[isolation\] default_backend = 'dokcer'"):
        _op()


def test_settings_file_is_not_searched_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "isolation.toml").write_text('default_backend = "docker"\n')
    monkeypatch.chdir(tmp_path)
    assert _op().backend == "venv"


def test_explicit_image_needs_no_definition() -> None:
    op = _op(environment="adhoc", backend="docker", backend_options={"image": "registry:5000/x:1"})
    assert op.environment == "adhoc"
    with pytest.raises(IsolationEnvironmentError, match="environment 'adhoc' not found"):
        _op(environment="adhoc", backend="docker")


def test_request_archive_is_private_to_the_task_user() -> None:
    data = b"".join(request_archive("/isolation/request.msgpack", b"payload", 1000, 1001))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        folder, request = tar.getmembers()
        assert (folder.name, folder.isdir(), folder.mode, folder.uid) == ("isolation", True, 0o1777, 0)
        assert (request.name, request.mode, request.uid, request.gid) == (
            "isolation/request.msgpack",
            0o600,
            1000,
            1001,
        )
        assert tar.extractfile(request).read() == b"payload"  # type: ignore[union-attr]


def test_log_lines_survive_any_chunking() -> None:
    text = "first\nsecond ü line\r\nlast without newline"
    raw = text.encode()
    for size in (1, 2, 3, 7, len(raw)):
        chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
        assert list(split_lines(chunks)) == ["first", "second ü line", "last without newline"]


def test_oom_and_external_kills_are_told_apart() -> None:
    limited = DockerOptions(mem_limit="64m")
    assert "out-of-memory killer (memory limit 64m): raise mem_limit" in (
        describe_exit({"OOMKilled": True}, 137, limited) or ""
    )
    assert "no mem_limit set" in (describe_exit({"OOMKilled": True}, 137, DockerOptions()) or "")
    assert "SIGKILL (signal 9, exit code 137), not by the container's out-of-memory killer" in (
        describe_exit({"OOMKilled": False}, 137, limited) or ""
    )
    assert describe_exit({}, 3, limited) is None
    outcome = TargetExit(
        None, 137, ["allocating"], "docker container c", describe_exit({"OOMKilled": True}, 137, limited)
    )
    with pytest.raises(
        IsolatedTargetCrashed,
        match=r"\(docker container c\) ended without writing a result: it was killed by the out-of-memory",
    ):
        read_result(outcome)


def test_settings_file_locates_environments_and_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_isolation.operator import environments

    monkeypatch.delenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", raising=False)
    monkeypatch.delenv("AIRFLOW__ISOLATION__BUILD_PATH", raising=False)
    settings = tmp_path / "project" / "isolation.toml"
    settings.parent.mkdir()
    settings.write_text('environments_path = "envs"\nbuild_path = "/srv/builds"\n')
    monkeypatch.setenv("AIRFLOW__ISOLATION__SETTINGS_FILE", str(settings))
    assert environments.environments_path() == tmp_path / "project" / "envs", "relative to the file"
    assert environments.build_path() == Path("/srv/builds")
    monkeypatch.setenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", "/etc/envs")
    assert environments.environments_path() == Path("/etc/envs"), "Airflow configuration wins"


def test_every_registered_backend_and_parser_imports() -> None:
    """The registry names dotted paths; a module moved without updating it fails only at run time."""
    from airflow_isolation.operator.backends import _BACKENDS, _load, get_backend

    for name, registered in _BACKENDS.items():
        assert get_backend(name).name == name
        assert callable(_load(registered.options_parser))


def test_run_as_user_is_a_user_name_checked_at_parse_time() -> None:
    parsed = parse_backend_options("venv", {"run_as_user": "etl"}, "t")
    assert isinstance(parsed, VenvOptions) and parsed.run_as_user == "etl"
    for bad in ("", "etl; rm -rf /", "-u root", "a b"):
        with pytest.raises(BackendOptionsError, match="is not a Unix user name"):
            parse_backend_options("venv", {"run_as_user": bad}, "t")


def test_run_as_user_of_an_unknown_user_names_the_fix() -> None:
    from airflow_isolation.operator.backends.venv.impersonation import ImpersonationError, impersonation

    with pytest.raises(ImpersonationError, match=r"is not a user on this worker .*create it"):
        impersonation("no-such-user-here")

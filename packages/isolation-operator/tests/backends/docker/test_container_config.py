"""The Docker backend's container settings: hardened by default, loosened only by name.

Golden tests of ``container_config`` and ``standby_container_config`` (no engine needed: the image
is the SDK's model of an inspected image). What the engine makes of them is asserted on real
containers in ``real/backends/docker/test_backend.py``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict

import pytest
from docker.models.images import Image

from airflow_isolation.operator.backends import BackendOptionsError, parse_backend_options
from airflow_isolation.operator.backends.base import BackendJob
from airflow_isolation.operator.backends.docker.container import container_config, standby_container_config
from airflow_isolation.operator.backends.docker.options import DockerOptions, parse_docker_options
from airflow_isolation.operator.backends.ownership import TaskIdentity

IMAGE = Image(attrs={"Id": "sha256:" + "1" * 64, "Config": {"Env": ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"]}})
JOB = BackendJob(environment="pandas1", identity=TaskIdentity("dag", "task", "run"))


def _parse(options: Dict[str, Any]) -> Any:
    return parse_backend_options("docker", options, "IsolatedOperator 't'")


def _config(**options: Any) -> Dict[str, Any]:
    return container_config("img:1", IMAGE, JOB, parse_docker_options(options), b"request")


def test_golden_default_container(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DB", "postgres://u:pw-in-the-worker@db/x")
    monkeypatch.setenv("WORKER_ONLY", "not for the task")
    config = _config()
    assert config["cap_drop"] == ["ALL"] and "cap_add" not in config
    assert config["security_opt"] == ["no-new-privileges"]
    assert "privileged" not in config and "read_only" not in config and "tmpfs" not in config
    assert "mounts" not in config, "nothing of the worker is mounted unless asked"
    assert set(config["environment"]) == {"PATH", "VIRTUAL_ENV", "AIRFLOW_HOME", "PYTHONUNBUFFERED",
                                          "ISOLATION_REQUEST_SHA256"}  # fmt: skip
    assert "pw-in-the-worker" not in repr(config) and "WORKER_ONLY" not in repr(config)


def test_standby_containers_get_the_same_hardening() -> None:
    options = parse_docker_options({"cap_add": ["NET_BIND_SERVICE"], "read_only": True})
    cold = container_config("img:1", IMAGE, JOB, options, b"request")
    standby = standby_container_config("img:1", IMAGE, options, [], {})
    for key in ("cap_drop", "cap_add", "security_opt", "read_only", "tmpfs", "mounts", "user"):
        assert standby.get(key) == cold.get(key), key


def test_cap_add_names_capabilities_back() -> None:
    config = _config(cap_add=["NET_BIND_SERVICE", "CAP_SYS_PTRACE"])
    assert config["cap_drop"] == ["ALL"]
    assert config["cap_add"] == ["NET_BIND_SERVICE", "SYS_PTRACE"]
    assert config["security_opt"] == ["no-new-privileges"]


def test_read_only_gives_the_runtime_its_writable_places() -> None:
    config = _config(read_only=True)
    assert config["read_only"] is True
    assert set(config["tmpfs"]) == {"/tmp", "/opt/isolation/airflow-home"}
    [io] = config["mounts"]
    assert (io["Target"], io["Type"], io.get("Source")) == ("/isolation", "volume", None)


def test_read_only_leaves_a_users_own_mount_of_tmp_alone() -> None:
    config = _config(read_only=True, mounts=[{"target": "/tmp", "type": "tmpfs"}])
    assert set(config["tmpfs"]) == {"/opt/isolation/airflow-home"}
    assert [m["Target"] for m in config["mounts"]] == ["/tmp", "/isolation"]


def test_privileged_is_the_explicit_opt_out_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = _config(privileged=True)
    assert config["privileged"] is True and "cap_drop" not in config
    assert "privileged=True: the container gets every capability" in caplog.text


@pytest.mark.parametrize(
    "source",
    ["/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run", "/", "/var/run/../run/docker.sock",
     "/run/containerd/containerd.sock", "/srv/elsewhere/docker.sock"],
)  # fmt: skip
def test_a_bind_of_the_engine_socket_is_refused_at_parse_time(source: str) -> None:
    with pytest.raises(BackendOptionsError, match=r"container engine's socket .*Remove the mount"):
        _parse({"mounts": [{"source": source, "target": "/engine"}]})


def test_a_symlink_to_the_engine_socket_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to("/var/run/docker.sock")
    (tmp_path / "all").symlink_to("/run")
    for link in ("data", "all"):
        with pytest.raises(BackendOptionsError, match="container engine's socket"):
            _parse({"mounts": [{"source": str(tmp_path / link), "target": "/d"}]})


def test_the_socket_of_docker_host_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/engine/api")
    with pytest.raises(BackendOptionsError, match="container engine's socket"):
        _parse({"mounts": [{"source": str(tmp_path / "engine"), "target": "/e"}]})


def test_other_binds_and_volumes_are_accepted(tmp_path: Path) -> None:
    options = parse_backend_options("docker", where="task", options={"mounts": [
        {"source": str(tmp_path), "target": "/data", "read_only": True},
        {"source": "/run/user/1000/app", "target": "/app"},
        {"source": "docker.sock", "target": "/named-volume", "type": "volume"},
    ]})  # fmt: skip
    assert isinstance(options, DockerOptions) and len(options.mounts) == 3


@pytest.mark.parametrize("capability", ["ALL", "net_admin", "NET ADMIN", ""])
def test_cap_add_takes_named_capabilities(capability: str) -> None:
    with pytest.raises(BackendOptionsError, match="not one capability"):
        _parse({"cap_add": [capability]})

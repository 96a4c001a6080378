"""The channel back in a container: a folder of the worker per container, mounted at one path,
made only for an engine on this machine, and swept once its container is gone."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from airflow_isolation.core import launch
from airflow_isolation.operator.backends.docker import channel_mount


@pytest.fixture
def build_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A build path short enough for the channel folders to live under it, not in the shared /tmp."""
    short = Path(tempfile.mkdtemp(prefix="cm-", dir="/tmp"))
    monkeypatch.setenv("AIRFLOW__ISOLATION__BUILD_PATH", str(short))
    yield short
    shutil.rmtree(short, ignore_errors=True)


@pytest.mark.parametrize(
    ("url", "host", "local"),
    [
        (None, "", True),
        ("unix:///var/run/docker.sock", "", True),
        (None, "unix:///run/user/1000/docker.sock", True),
        ("tcp://10.0.0.5:2376", "", False),
        (None, "ssh://builder", False),
    ],
)
def test_only_an_engine_on_this_machine_gets_a_channel(
    url: str, host: str, local: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", host)
    assert channel_mount.engine_is_local(url) is local


def test_each_container_has_its_own_folder_under_a_private_one(build_path: Path) -> None:
    folder = channel_mount.folder_for("airflow-isolation-t-1")
    assert folder.parent == channel_mount.root() == build_path / f"airflow-isolation-channels-{os.getuid()}"
    assert oct(folder.parent.stat().st_mode & 0o777) == "0o700", (
        "other users of the machine must not reach it"
    )
    assert oct(folder.stat().st_mode & 0o777) == "0o711"
    assert channel_mount.mounted_folder("airflow-isolation-t-1") == folder
    assert channel_mount.mounted_folder("another") is None
    assert channel_mount.socket_in(folder).name == launch.CHANNEL_SOCKET_NAME


def test_the_folder_is_mounted_and_the_runtime_told_where(build_path: Path) -> None:
    folder = channel_mount.folder_for("c")
    config = channel_mount.with_channel({"environment": {"A": "1"}, "mounts": None}, folder)
    (mount,) = config["mounts"]
    assert (mount["Target"], mount["Source"], mount["Type"], mount["ReadOnly"]) == (
        launch.IMAGE_CHANNEL_DIR, str(folder), "bind", False,
    )  # fmt: skip
    assert config["environment"] == {
        "A": "1",
        launch.CHANNEL_SOCKET_ENV: f"{launch.IMAGE_CHANNEL_DIR}/{launch.CHANNEL_SOCKET_NAME}",
    }
    assert channel_mount.with_channel({"x": 1}, None) == {"x": 1}


def test_the_sweep_removes_only_old_folders_of_gone_containers(build_path: Path) -> None:
    alive, gone, young = (channel_mount.folder_for(name) for name in ("alive", "gone", "young"))
    old = time.time() - channel_mount.STALE_SECONDS - 5
    for folder in (alive, gone):
        os.utime(folder, (old, old))
    assert channel_mount.sweep(lambda: ["alive"]) == [gone.name]
    assert alive.exists() and young.exists() and not gone.exists()


def test_the_sweep_asks_the_engine_nothing_while_no_folder_is_old(build_path: Path) -> None:
    channel_mount.folder_for("young")

    def listed() -> list[str]:
        raise AssertionError("the engine was asked for its containers")

    assert channel_mount.sweep(listed) == []


def test_a_socket_path_stays_short_however_deep_the_build_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    monkeypatch.setenv("AIRFLOW__ISOLATION__BUILD_PATH", str(deep))
    folder = channel_mount.folder_for("airflow-isolation-" + "x" * 200)
    assert len(str(channel_mount.socket_in(folder))) <= channel_mount.SOCKET_PATH_LIMIT
    assert folder.parent == Path("/tmp") / f"airflow-isolation-channels-{os.getuid()}"
    channel_mount.remove(folder)
    assert not folder.exists()

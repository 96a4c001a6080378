"""The host side of the warm runtime (``workspace.warm``) without a built environment.

A stand-in "interpreter" plays the warm runtime: a script that takes the real command line, listens
on the socket and says it is ready on the pipe, which is all ``spawn`` relies on; ``processes``
finds it and its forked child by the command line as it finds a real one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, List

import pytest

from airflow_isolation.core import procfs
from airflow_isolation.workspace import warm
from airflow_isolation.workspace.environment import BuildManifest
from airflow_isolation.workspace.settings_table import WARM_RUNTIME_IDLE_SECONDS
from airflow_isolation.workspace.warm.command import server_command, socket_of

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux-only")

_STAND_IN = f"""#!{sys.executable}
import os, socket, sys
args = sys.argv[1:]
path = args[args.index("--socket") + 1]
ready = int(args[args.index("--ready-fd") + 1])
preload = [args[i + 1] for i, arg in enumerate(args) if arg == "--preload"]
with open(path + ".seen", "w") as seen:
    seen.write(" ".join(preload) + "\\n" + os.environ.get("AIRFLOW_HOME", "") + "\\n")
    seen.write("AIRFLOW__CORE__DAGS_FOLDER" in os.environ and "leaked" or "clean")
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(8)
os.write(ready, b"1")
os.close(ready)
server.settimeout(float(args[args.index("--idle") + 1]))
try:
    while True:
        server.accept()[0].close()
except socket.timeout:
    os.unlink(path)
"""


def _manifest(venv: Path, content_hash: str = "c1", built_at: str = "2026-01-01T00:00:00") -> BuildManifest:
    return BuildManifest(
        name="warmunit", content_hash=content_hash, definition_digest="d", venv_path=str(venv),
        python_version="3.11", runtime_version="1.0", built_at=built_at,
    )  # fmt: skip


@pytest.fixture
def short_runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A socket folder short enough for a Unix socket, of this test alone."""
    folder = Path(tempfile.mkdtemp(prefix="aiw-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def stand_in_venv(tmp_path: Path, short_runtime_dir: Path) -> Iterator[Path]:
    """A "venv" whose interpreter is the stand-in; what it started is stopped at the end."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    interpreter = venv / "bin" / "python"
    interpreter.write_text(_STAND_IN)
    interpreter.chmod(0o755)
    yield venv
    warm.stop([p for p in warm.warm_runtime_processes() if short_runtime_dir in p.socket.parents], timeout=5)


def test_idle_seconds_falls_back_to_the_default_when_unset_or_bad() -> None:
    idle = WARM_RUNTIME_IDLE_SECONDS
    assert idle.value("42.5") == 42.5
    assert idle.value(None) == idle.default == 600.0
    assert idle.value("") == idle.default
    assert idle.value("soon") == idle.default
    assert idle.name == "warm_runtime_idle_seconds"


def test_build_key_is_per_uid_and_changes_with_every_rebuild(tmp_path: Path) -> None:
    key = warm.build_key(_manifest(tmp_path))
    assert key.startswith(f"{os.getuid()}-") and len(key.split("-", 1)[1]) == 20
    assert key == warm.build_key(_manifest(tmp_path))
    assert key != warm.build_key(_manifest(tmp_path, content_hash="c2"))
    assert key != warm.build_key(_manifest(tmp_path, built_at="2026-01-02T00:00:00"))
    assert key != warm.build_key(_manifest(tmp_path / "other"))


def test_private_folder_is_made_0700_and_tightened(tmp_path: Path) -> None:
    made = warm.private_folder(tmp_path / "a" / "b")
    assert made.is_dir() and (made.stat().st_mode & 0o777) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    warm.private_folder(loose)
    assert (loose.stat().st_mode & 0o777) == 0o700


def test_private_folder_refuses_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(warm.WarmUnavailable, match="is not a folder of uid"):
        warm.private_folder(tmp_path / "link")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another uid needs root")
def test_private_folder_refuses_another_uids_folder(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 12345, 12345)
    with pytest.raises(warm.WarmUnavailable, match="fix its owner"):
        warm.private_folder(theirs)


def test_socket_folder_prefers_the_runtime_dir_then_the_build_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, short_runtime_dir: Path
) -> None:
    assert warm.socket_folder(tmp_path) == short_runtime_dir / "airflow-isolation-warm"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    short_build = Path(tempfile.mkdtemp(prefix="aib-", dir="/tmp"))
    try:
        assert warm.socket_folder(short_build) == short_build / f"warm-{os.getuid()}"
    finally:
        shutil.rmtree(short_build)


def test_socket_folder_avoids_paths_too_long_for_a_unix_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, short_runtime_dir: Path
) -> None:
    long = tmp_path / ("x" * 80)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(long))
    monkeypatch.setattr(tempfile, "tempdir", str(short_runtime_dir))
    folder = warm.socket_folder(long)
    assert folder == short_runtime_dir / f"airflow-isolation-warm-{os.getuid()}"
    path = warm.socket_path(_manifest(tmp_path), long)
    assert path.parent == folder and path.name == f"{warm.build_key(_manifest(tmp_path))}.sock"
    assert len(str(path)) < 108


def test_the_command_line_is_read_back_as_it_is_written() -> None:
    command = server_command("/v/bin/python", Path("/s/k.sock"), 30.0, 7, ["pandas", "numpy"])
    assert command[:3] == ["/v/bin/python", "-m", warm.WARM_MODULE]
    assert command.count("--preload") == 2 and command[command.index("--ready-fd") + 1] == "7"
    assert socket_of(command) == Path("/s/k.sock")
    assert socket_of(["/v/bin/python", "other.py", "--socket", "/s/k.sock"]) is None
    assert socket_of(["/v/bin/python", "-m", warm.WARM_MODULE, "--socket"]) is None
    assert socket_of([]) is None


def test_connect_is_none_where_nothing_listens(short_runtime_dir: Path) -> None:
    assert warm.connect(short_runtime_dir / "nothing.sock") is None


def test_start_spawns_one_runtime_with_the_cold_environment_then_connects_to_it(
    stand_in_venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", "/host/dags")
    manifest = _manifest(stand_in_venv)
    asked: List[str] = []

    def preload() -> List[str]:
        asked.append("preload")
        return ["json", "csv"]

    process = warm.start(manifest, tmp_path, preload, 30)
    assert process.socket == warm.socket_path(manifest, tmp_path) and process.socket.exists()
    preloaded, airflow_home, leaked = Path(f"{process.socket}.seen").read_text().splitlines()
    assert preloaded == "json csv" and airflow_home.startswith(str(stand_in_venv)) and leaked == "clean"
    sock = warm.connect_or_start(manifest, tmp_path, preload, 30)
    sock.close()
    assert asked == ["preload"], "a second start spawned another runtime"
    assert [p.pid for p in warm.running(manifest)] == [process.pid]
    assert warm.running(_manifest(stand_in_venv, content_hash="other")) == []


def test_a_runtime_that_never_gets_ready_is_unavailable(stand_in_venv: Path, tmp_path: Path) -> None:
    (stand_in_venv / "bin" / "python").write_text(f"#!{sys.executable}\nraise SystemExit(3)\n")
    manifest = _manifest(stand_in_venv)
    with pytest.raises(warm.WarmUnavailable, match=r"did not start \(exit 3\): see .*\.log"):
        warm.connect_or_start(manifest, tmp_path, lambda: [], 30)
    assert warm.running(manifest) == []


@pytest.fixture
def forking_runtime(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process with a warm runtime's command line that has forked a child, as the real one does
    for each task; its session is killed at the end, whatever the test did."""
    script = "import os, time\nos.fork()\ntime.sleep(60)\n"
    command = [sys.executable, "-c", script, "-m", warm.WARM_MODULE, "--socket", str(tmp_path / "f.sock")]
    process = subprocess.Popen(command, start_new_session=True)
    yield process
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _found(path: Path) -> List[warm.WarmProcess]:
    return [p for p in warm.warm_runtime_processes() if p.socket == path]


def test_processes_finds_the_runtime_but_not_its_forked_children(
    forking_runtime: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    deadline = time.monotonic() + 10
    while len(procfs.children(forking_runtime.pid)) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert procfs.children(forking_runtime.pid), "the stand-in did not fork"
    [found] = _found(tmp_path / "f.sock")
    assert found.pid == forking_runtime.pid and found.interpreter == sys.executable
    assert found.rss_bytes is not None and found.rss_text.startswith("RSS ")


def test_stop_ends_the_runtime_and_says_which_ran(
    forking_runtime: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    deadline = time.monotonic() + 10
    while not _found(tmp_path / "f.sock") and time.monotonic() < deadline:
        time.sleep(0.05)
    found = _found(tmp_path / "f.sock")
    assert [p.pid for p in warm.stop(found, timeout=5)] == [forking_runtime.pid]
    assert forking_runtime.wait(timeout=5) == -signal.SIGTERM
    assert warm.stop(found, timeout=1) == [], "a process already gone was reported as stopped"


def test_rss_text_when_unknown() -> None:
    assert warm.WarmProcess(1, "/p", Path("/s"), None).rss_text == "RSS unknown"
    assert warm.WarmProcess(1, "/p", Path("/s"), 3 * 2**20).rss_text == "RSS 3 MiB"

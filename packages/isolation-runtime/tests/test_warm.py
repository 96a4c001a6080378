"""The warm runtime on its own: the protocol, one server in this interpreter, children it forks.

The server runs as the backend starts it (``python -m airflow_isolation.runtime.warm``), here on the
test interpreter (which has Airflow 3, so its rehearsal runs a ``PythonOperator``); the client side
is written out by hand so the protocol is what is tested, not the operator package.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import msgspec
import pytest
from runtime_test_support import callable_from_source

from airflow_isolation.core import (
    SCHEMA_VERSION,
    IsolationRequest,
    TaskContext,
    decode_result,
    encode,
    procfs,
)
from airflow_isolation.core.integrity import request_digest
from airflow_isolation.core.warm_protocol import (
    CLAIM_TAKEN_COLD,
    KEEPS_TREE,
    MAX_FRAME,
    WarmProtocolError,
    WarmRelease,
    WarmReply,
    WarmStart,
    receive_host_message,
    receive_reply,
    send,
)
from airflow_isolation.runtime.warm.child import EXIT_NOT_CLAIMED


def test_messages_and_descriptors_cross_a_socket_pair() -> None:
    left, right = socket.socketpair()
    read, write = os.pipe()
    start = WarmStart(digest="d", env={"A": "1"}, cwd="/", memory_limit=1 << 30)
    send(left, start, [write])
    message, fds = receive_host_message(right)
    assert message == start and len(fds) == 1
    os.write(fds[0], b"x")
    assert os.read(read, 1) == b"x"
    send(right, WarmReply(kind="exited", pid=5, returncode=-9))
    assert receive_reply(left) == WarmReply(kind="exited", pid=5, returncode=-9)
    send(left, WarmRelease())
    assert receive_host_message(right) == (WarmRelease(), [])
    left.sendall((MAX_FRAME + 1).to_bytes(4, "big"))
    with pytest.raises(WarmProtocolError, match="over the"):
        receive_host_message(right)
    for fd in (read, write, *fds):
        os.close(fd)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[Path, subprocess.Popen[bytes]]]:
    folder = tmp_path_factory.mktemp("warm")
    path = folder / "w.sock"
    ready_read, ready_write = os.pipe()
    env = {"PATH": "/usr/bin:/bin", "AIRFLOW_HOME": str(folder), "HOME": str(folder)}
    command = [sys.executable, "-m", "airflow_isolation.runtime.warm", "--socket", str(path),
               "--idle", "120", "--ready-fd", str(ready_write),
               "--preload", "json", "--preload", "no_such_module_here"]  # fmt: skip
    log = open(folder / "w.log", "wb")  # noqa: SIM115 - the server writes it
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log, pass_fds=(ready_write,))
    os.close(ready_write)
    with os.fdopen(ready_read, "rb") as ready:
        assert ready.read(1) == b"1", (folder / "w.log").read_text()
    yield path, process
    process.terminate()
    process.wait(30)
    assert not path.exists(), "the server left its socket behind"


class _Run:
    """One task sent to the server by hand: the connection, the child's output pipe, the lifeline."""

    def __init__(
        self, path: Path, tmp_path: Path, source: str, claimed: bool = False,
        cwd: str | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        request = encode(
            IsolationRequest(
                schema=SCHEMA_VERSION,
                task=msgspec.structs.replace(callable_from_source(source), kwargs=kwargs),
                context=TaskContext(dag_id="d", task_id="t", run_id="r"),
            )
        )
        (tmp_path / "request").write_bytes(request)
        (tmp_path / "claim").write_bytes(CLAIM_TAKEN_COLD if claimed else b"")
        self.result = tmp_path / "result"
        self.result.write_bytes(b"")
        files = [os.open(tmp_path / "request", os.O_RDONLY), os.open(self.result, os.O_WRONLY),
                 os.open(tmp_path / "claim", os.O_RDWR)]  # fmt: skip
        (tmp_path / "request").unlink()  # the child reads its descriptor, never the path
        self.output, out_write = os.pipe()
        life_read, self.lifeline = os.pipe()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(path))
        start = WarmStart(digest=request_digest(request), env={"PATH": "/usr/bin:/bin", "MARK": "task"},
                          cwd=str(tmp_path) if cwd is None else cwd)  # fmt: skip
        send(self.sock, start, [out_write, life_read, *files])
        for fd in (out_write, life_read, *files):
            os.close(fd)
        self.replies = [receive_reply(self.sock)]

    def finish(self) -> Tuple[List[WarmReply], str]:
        self.replies.append(receive_reply(self.sock))
        send(self.sock, WarmRelease())
        self.sock.close()
        with os.fdopen(self.output, errors="replace") as output:
            text = output.read()
        os.close(self.lifeline)
        return [reply for reply in self.replies if reply is not None], text


def _start(
    path: Path, tmp_path: Path, source: str, claimed: bool = False
) -> Tuple[List[WarmReply], str, Path]:
    run = _Run(path, tmp_path, source, claimed)
    replies, text = run.finish()
    return replies, text, run.result


def test_a_child_runs_the_task_as_a_cold_runtime_would(
    server: Tuple[Path, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    source = """
    def task():
        import os, sys
        print("hello from the child", flush=True)
        return [os.environ["MARK"], os.getcwd(), os.getpid() == os.getpgid(0), "json" in sys.modules]
    """
    replies, output, result_file = _start(server[0], tmp_path, source)
    assert [reply.kind for reply in replies] == ["started", "exited"]
    assert replies[1].returncode == 0 and replies[1].pid == replies[0].pid
    assert replies[0].says(KEEPS_TREE), "a Linux warm runtime keeps its children's trees"
    assert replies[0].pid_namespace == procfs.pid_namespace(), "the worker needs it to signal the child"
    assert (tmp_path / "claim").read_text() == "0", "the child announces its end in the claim file"
    assert "hello from the child" in output
    result = decode_result(result_file.read_bytes())
    assert result.status == "success"
    assert result.return_value == ["task", str(tmp_path), True, True]
    log = (server[0].parent / "w.log").read_text()
    assert "rehearsal task ran" in log and "preload of no_such_module_here failed" in log


def test_a_child_given_no_folder_works_in_a_private_one_and_cannot_be_read(
    server: Tuple[Path, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """A sandboxed warm runtime sees no folder of the host: the child makes its own and removes it;
    and no other task of the same runtime (same uid) may read its memory, descriptors or
    environment through ``/proc`` (it is not dumpable)."""
    source = """
    def task():
        import ctypes, os
        return [os.getcwd(), sorted(os.listdir(".")), ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)]
    """
    run = _Run(server[0], tmp_path, source, cwd="")
    replies, output = run.finish()
    assert [reply.kind for reply in replies] == ["started", "exited"], output
    folder, listed, dumpable = decode_result(run.result.read_bytes()).return_value
    assert Path(folder).name.startswith("airflow-isolation-task-") and listed == []
    assert not Path(folder).exists(), "the child's private folder outlived its task"
    assert dumpable == 0


def test_a_claimed_run_is_not_run_again(server: Tuple[Path, subprocess.Popen[bytes]], tmp_path: Path) -> None:
    replies, _, result_file = _start(server[0], tmp_path, "def task():\n    return 1\n", claimed=True)
    assert replies[-1].kind == "exited" and replies[-1].returncode == EXIT_NOT_CLAIMED
    assert result_file.read_bytes() == b""


def test_idle_server_exits_and_removes_its_socket(tmp_path: Path) -> None:
    path = tmp_path / "idle.sock"
    command = [sys.executable, "-m", "airflow_isolation.runtime.warm", "--socket", str(path), "--idle", "0.5"]
    done = subprocess.run(command, env={"PATH": "/usr/bin:/bin", "AIRFLOW_HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "idle for" in done.stderr and not path.exists()


_FORKS_A_DAEMON = """
def task(pid_file, ending):
    import os, time
    if os.fork() == 0:  # fork without exec, leave the group, fork again: a daemon
        os.setsid()
        if os.fork() == 0:
            with open(pid_file + ".tmp", "w") as handle:
                handle.write(str(os.getpid()))
            os.rename(pid_file + ".tmp", pid_file)
            time.sleep(300)
        os._exit(0)
    while not os.path.exists(pid_file):
        time.sleep(0.01)
    if ending == "failure":
        raise RuntimeError("failed on purpose")
    if ending != "success":
        time.sleep(300)
    return 1
"""


def _living(pid: int, within: float = 10.0) -> bool:
    """Whether ``pid`` still runs after ``within`` seconds (a killed process takes a moment to end)."""
    deadline = time.monotonic() + within
    while True:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX":
                return False
        except OSError:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.02)


@pytest.mark.parametrize("ending", ["success", "failure", "timeout", "sigkill"])
def test_what_a_task_forks_without_exec_ends_with_it(
    server: Tuple[Path, subprocess.Popen[bytes]], tmp_path: Path, ending: str
) -> None:
    """The daemon carries no run marker and leaves the group, yet the task's end, however it comes
    (a host's timeout is SIGTERM to the group, its last resort SIGKILL), ends it."""
    pid_file = tmp_path / "daemon.pid"
    started = time.monotonic()
    run = _Run(server[0], tmp_path, _FORKS_A_DAEMON, pid_file=str(pid_file), ending=ending)
    assert run.replies[0] is not None and run.replies[0].kind == "started"
    child = run.replies[0].pid
    if ending in ("timeout", "sigkill"):
        while not pid_file.exists() and time.monotonic() - started < 60:
            time.sleep(0.01)
        os.killpg(child, signal.SIGTERM if ending == "timeout" else signal.SIGKILL)
    replies, output = run.finish()
    daemon = int(pid_file.read_text())
    assert time.monotonic() - started < 60, "the daemon held the task's output open"
    assert [reply.kind for reply in replies] == ["started", "exited"], output
    assert not _living(daemon), f"the daemon of a task that ended by {ending} lives on"
    if ending == "success":
        assert replies[1].returncode == 0 and decode_result(run.result.read_bytes()).return_value == 1
    if ending == "sigkill":
        assert replies[1].returncode == -signal.SIGKILL
        assert "killed process(es) a task child left" in (server[0].parent / "w.log").read_text()


def test_each_task_gets_the_child_forked_ahead_for_it(
    server: Tuple[Path, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """The runtime forks the next task's child while it waits, so a task does not wait for the fork;
    the spare is a fresh fork of the runtime, not a child that ran a task."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    replies, _, _ = _start(server[0], tmp_path / "a", "def task():\n    return 1\n")
    first = replies[0].pid

    def waiting() -> List[int]:
        tasks = Path(f"/proc/{server[1].pid}/task")
        return [int(pid) for tid in tasks.iterdir() for pid in (tid / "children").read_text().split()]

    deadline = time.monotonic() + 30
    while len(waiting()) != 1 and time.monotonic() < deadline:  # the last tasks' children are reaped
        time.sleep(0.01)
    [spare] = waiting()
    assert spare != first
    replies, _, _ = _start(server[0], tmp_path / "b", "def task():\n    import os\n    return os.getpid()\n")
    assert replies[0].pid == spare
    assert decode_result((tmp_path / "b" / "result").read_bytes()).return_value == spare

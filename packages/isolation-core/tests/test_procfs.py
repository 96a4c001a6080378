"""``core.procfs`` against this machine's real ``/proc`` and against a crafted one."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_isolation.core import procfs


def test_reads_this_process():
    me = os.getpid()
    assert me in procfs.pids()
    assert procfs.parent(me) == os.getppid()
    assert procfs.start_time(me).isdigit()
    assert procfs.owner_uid(me) == os.getuid()
    assert procfs.cmdline(me)[0].endswith(Path(sys.executable).name) or procfs.cmdline(me)
    assert (procfs.rss_bytes(me) or 0) > 1024 * 1024
    assert procfs.pid_namespace().startswith("pid:[")


def test_children_and_environ_of_a_child():
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"], env={**os.environ, "PROCFS_MARK": "yes"}
    )
    try:
        assert child.pid in procfs.children(os.getpid())
        assert procfs.parents()[child.pid] == os.getpid()
        assert b"PROCFS_MARK=yes" in procfs.environ(child.pid)
    finally:
        child.kill()
        child.wait()


def test_vanished_process_gives_empty_answers():
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert procfs.parent(gone.pid) is None
    assert procfs.start_time(gone.pid) == ""
    assert procfs.environ(gone.pid) == []
    assert procfs.cmdline(gone.pid) == []
    assert procfs.children(gone.pid) == []
    assert procfs.rss_bytes(gone.pid) is None


def test_command_name_with_spaces_and_parentheses(tmp_path):
    fields = ["S", "7"] + [str(n) for n in range(3, 22)]  # fields 3..22 after the name
    fields[19] = "123456"
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "stat").write_text("42 (a (weird) name) " + " ".join(fields) + "\n")
    assert procfs.parent(42, tmp_path) == 7
    assert procfs.start_time(42, tmp_path) == "123456"
    assert procfs.pids(tmp_path) == [42]


def test_state_tells_a_zombie_from_a_living_process(tmp_path):
    assert procfs.state(os.getpid()) in ("R", "S")
    zombie = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 10
        while procfs.state(zombie.pid) not in ("Z", "X", "") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert procfs.state(zombie.pid) in ("Z", "X")
    finally:
        zombie.wait()
    assert procfs.state(zombie.pid) == ""
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "stat").write_text("42 (a (weird) name) Z 7\n")
    assert procfs.state(42, tmp_path) == "Z"


def test_a_process_of_another_pid_namespace_is_found_by_its_inner_pid():
    """As a sandboxed warm runtime reports its child: PID 1 of a namespace of its own."""
    if shutil.which("unshare") is None:
        pytest.skip("util-linux unshare is not installed")
    inner = subprocess.Popen(
        ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--kill-child", "sleep", "30"]
    )
    try:
        deadline = time.monotonic() + 10
        while not (found := [p for p in procfs.children(inner.pid) if procfs.inner_pid(p) == 1]):
            assert time.monotonic() < deadline and inner.poll() is None, "unshare did not start sleep"
            time.sleep(0.02)
        [sleeper] = found
        namespace = os.readlink(f"/proc/{sleeper}/ns/pid")
        assert namespace != procfs.pid_namespace()
        assert procfs.in_namespace(namespace, 1) == sleeper
        assert procfs.in_namespace(procfs.pid_namespace(), os.getpid()) == os.getpid()
        assert procfs.inner_pid(os.getpid()) == os.getpid()
    finally:
        inner.kill()
        inner.wait()
    deadline = time.monotonic() + 10
    while procfs.state(sleeper) not in ("", "Z"):
        assert time.monotonic() < deadline, "the namespace's process outlived unshare --kill-child"
        time.sleep(0.02)

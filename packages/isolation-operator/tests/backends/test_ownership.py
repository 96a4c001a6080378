"""``ownership.Owner`` and ``process_alive``: telling a live owner from a dead one or a recycled PID."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from airflow_isolation.core import procfs
from airflow_isolation.operator.backends.ownership import Owner, process_alive

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux-only")


def test_the_current_owner_is_this_process_in_this_pid_namespace() -> None:
    owner = Owner.current()
    assert owner.pid == os.getpid()
    assert owner.started == procfs.start_time(os.getpid()) and owner.started.isdigit()
    assert owner.pid_namespace == procfs.pid_namespace() and owner.pid_namespace.startswith("pid:[")


def test_a_live_owner_is_alive_and_a_recycled_pid_is_not() -> None:
    owner = Owner.current()
    assert process_alive(owner.pid, owner.started)
    assert process_alive(owner.pid, "")  # start time unknown: the PID alone decides
    assert not process_alive(owner.pid, str(int(owner.started) + 1))


def test_a_gone_owner_is_not_alive() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert not process_alive(gone.pid, "")

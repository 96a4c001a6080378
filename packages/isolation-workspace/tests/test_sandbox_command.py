"""The ``bwrap`` command line a profile makes (``workspace.sandbox.bubblewrap``), read as bubblewrap
applies it: option after option. What the sandbox then shows a real task is
``integration-tests/test_trust_venv.py``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Tuple

from airflow_isolation.workspace.sandbox import BindMount, SandboxProfile, sandbox_command


def _venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    os.symlink(os.path.realpath("/usr/bin/env"), venv / "bin" / "python")
    return venv


def _pairs(args: List[str], option: str) -> List[Tuple[str, str]]:
    return [(args[i + 1], args[i + 2]) for i, arg in enumerate(args) if arg == option]


def test_a_task_sandbox_dies_with_its_worker_and_a_warm_runtimes_does_not(tmp_path: Path) -> None:
    venv = _venv(tmp_path)
    assert "--die-with-parent" in sandbox_command(SandboxProfile(), venv, hide=[])
    warm = sandbox_command(SandboxProfile(), venv, hide=[], die_with_parent=False)
    assert "--die-with-parent" not in warm
    assert {"--unshare-user", "--unshare-pid", "--disable-userns"} <= set(warm)
    assert warm[-1] == "--"


def test_private_tmp_comes_before_what_is_bound_below_it(tmp_path: Path) -> None:
    venv, run = _venv(tmp_path), tmp_path / "run"
    args = sandbox_command(SandboxProfile(), venv, writable=[run], hide=[])
    tmp = args.index("/tmp", args.index("--tmpfs"))
    assert args.index(str(venv)) > tmp and args.index(str(run)) > tmp
    assert (str(venv), str(venv)) in _pairs(args, "--ro-bind")
    assert (str(run), str(run)) in _pairs(args, "--bind")


def test_mounts_as_asked_and_network_cut_on_request(tmp_path: Path) -> None:
    profile = SandboxProfile(
        network=False,
        mounts=(BindMount("/srv/in", "/data/in", True), BindMount("/srv/out", "/srv/out", False)),
    )
    args = sandbox_command(profile, _venv(tmp_path), hide=[])
    assert "--unshare-net" in args
    assert ("/srv/in", "/data/in") in _pairs(args, "--ro-bind")
    assert ("/srv/out", "/srv/out") in _pairs(args, "--bind")
    assert "--unshare-net" not in sandbox_command(SandboxProfile(), _venv(tmp_path / "b"), hide=[])


def test_worker_paths_inside_a_bound_tree_are_covered_last(tmp_path: Path) -> None:
    venv = _venv(tmp_path)
    home, config = venv / "worker-home", venv / "airflow.cfg"
    home.mkdir()
    config.write_text("[core]\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    args = sandbox_command(SandboxProfile(), venv, hide=[str(home), str(config), str(outside)])
    assert args.index(str(home)) > args.index(str(venv)), "covered after the tree that holds it"
    assert ("--tmpfs", str(home)) == tuple(args[args.index(str(home)) - 1 : args.index(str(home)) + 1])
    assert (os.devnull, str(config)) in _pairs(args, "--ro-bind")
    assert str(outside) not in args, "a path the sandbox does not bind needs no cover"

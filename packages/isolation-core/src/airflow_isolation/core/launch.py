"""How a host starts the runtime in a target, and what the runtime answers with.

Every backend starts the same program, ``<python> -m airflow_isolation.runtime --request FILE
--result FILE [--result-format json]``, gives it the same few environment variables, and reads its
exit code the same way; the runtime parses that command line. Both sides build it from here, so a
backend cannot drift from what the runtime accepts. The paths inside environment images are part
of the same contract: the CLI builds images with them and the container backends run them.
"""

from __future__ import annotations

import os
import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from airflow_isolation.core.integrity import request_digest
from airflow_isolation.core.schema import RunOptions

RUNTIME_MODULE = "airflow_isolation.runtime"
WARM_RUNTIME_MODULE = RUNTIME_MODULE + ".warm"
"""The warm runtime (``core.warm_protocol``): a parent that forks one clean runtime per task."""
STANDBY_RUNTIME_MODULE = RUNTIME_MODULE + ".standby"
"""A standby container's runtime (``core.standby_protocol``): preloaded, it waits for one task."""
IDLE_OPTION = "--idle"
PRELOAD_OPTION = "--preload"
REQUEST_OPTION = "--request"
RESULT_OPTION = "--result"
RESULT_FORMAT_OPTION = "--result-format"
STDIN = "-"
"""``--request -`` reads the request from stdin."""
DESCRIPTOR_PREFIX = "/dev/fd/"
"""``--request /dev/fd/N`` and ``--result /dev/fd/N`` name descriptors the runtime already holds (a
warm child's, ``core.warm_protocol``): it reads and writes them in place, never reopening a path."""

RESULT_FORMATS = ("msgpack", "json")
"""msgpack by default; json for channels that only carry JSON (the KubernetesPodOperator's xcom
sidecar, ``/airflow/xcom/return.json``)."""
DEFAULT_RESULT_FORMAT = RESULT_FORMATS[0]

EXIT_SUCCESS = 0
EXIT_FAILED = 1
"""The task failed; the result says how."""
EXIT_BAD_REQUEST = 2
"""The request could not be read, decoded or verified, so the task never ran (also argparse's
code for a command line it refuses)."""
EXIT_SKIPPED = RunOptions().skip_exit_code
"""The default; a request may name another (``RunOptions.skip_exit_code``)."""
EXIT_KILLED = 128 + 9
"""How a shell or container engine reports a process that SIGKILL ended (128 + signal 9)."""

IMAGE_ROOT = "/opt/isolation"
IMAGE_VENV = IMAGE_ROOT + "/venv"
IMAGE_PYTHON = IMAGE_VENV + "/bin/python"
IMAGE_AIRFLOW_HOME = IMAGE_ROOT + "/airflow-home"
IMAGE_IO_DIR = "/isolation"
REQUEST_FILE_NAME = "request.msgpack"
RESULT_FILE_NAME = "result.msgpack"
IMAGE_REQUEST_FILE = f"{IMAGE_IO_DIR}/{REQUEST_FILE_NAME}"
IMAGE_RESULT_FILE = f"{IMAGE_IO_DIR}/{RESULT_FILE_NAME}"

REQUEST_DIGEST_ENV = "ISOLATION_REQUEST_SHA256"
"""The SHA-256 of the request bytes (see ``airflow_isolation.core.integrity``): the one variable
the host sets for the target besides the venv's own."""

LIFELINE_FD_ENV = "ISOLATION_LIFELINE_FD"
"""A descriptor of the runtime (the read end of a pipe the worker holds the other end of): when it
closes, the worker is gone and the runtime ends its process group. For targets the kernel cannot
tie to their worker (started through a setuid ``sudo``, which clears the parent-death signal)."""

CHANNEL_FD_ENV = "ISOLATION_CHANNEL_FD"
"""A descriptor of the runtime: its end of the channel back to the host (``core.channel``), a
connected Unix socket the host opened for this task alone. Absent when the host opened none."""

CHANNEL_SOCKET_ENV = "ISOLATION_CHANNEL_SOCKET"
"""Where a container's runtime connects to its channel back to the host: a Unix socket the host
listens on in a folder of the worker bind-mounted at ``IMAGE_CHANNEL_DIR`` (a descriptor cannot
cross into a container). Set in the container's environment; the socket exists once the task is
handed over."""
IMAGE_CHANNEL_DIR = "/run/isolation-channel"
CHANNEL_SOCKET_NAME = "channel.sock"

_PART = re.compile(r"\.part-(\d{4})-of-(\d{4})$")


def descriptor_path(fd: int) -> str:
    """How the runtime's options name descriptor ``fd`` (:data:`DESCRIPTOR_PREFIX`)."""
    return f"{DESCRIPTOR_PREFIX}{fd}"


def descriptor_of(path: str) -> Optional[int]:
    """The descriptor ``path`` names, or ``None`` when it is an ordinary path."""
    number = path[len(DESCRIPTOR_PREFIX) :] if path.startswith(DESCRIPTOR_PREFIX) else ""
    return int(number) if number.isdigit() else None


def runtime_entry(python: str) -> List[str]:
    """``<python> -m airflow_isolation.runtime``: the program, without its arguments."""
    return [python, "-m", RUNTIME_MODULE]


def runtime_arguments(request: str, result: str, result_format: str = DEFAULT_RESULT_FORMAT) -> List[str]:
    """The runtime's arguments; the format is only spelt out when it is not the default."""
    if result_format not in RESULT_FORMATS:
        raise ValueError(f"result format {result_format!r} is not one of {', '.join(RESULT_FORMATS)}")
    arguments = [REQUEST_OPTION, request, RESULT_OPTION, result]
    if result_format != DEFAULT_RESULT_FORMAT:
        arguments += [RESULT_FORMAT_OPTION, result_format]
    return arguments


def runtime_command(
    python: str, request: str, result: str, result_format: str = DEFAULT_RESULT_FORMAT
) -> List[str]:
    return [*runtime_entry(python), *runtime_arguments(request, result, result_format)]


def standby_runtime_command(python: str, idle_seconds: float, preload: Sequence[str] = ()) -> List[str]:
    """``<python> -m airflow_isolation.runtime.standby --idle SECONDS [--preload MODULE]...``: the
    command of a standby container, which runs one task at ``IMAGE_REQUEST_FILE`` once told to."""
    command = [python, "-m", STANDBY_RUNTIME_MODULE, IDLE_OPTION, f"{idle_seconds:g}"]
    for module in preload:
        command += [PRELOAD_OPTION, module]
    return command


def part_name(file_name: str, number: int, count: int) -> str:
    """``request.msgpack.part-0002-of-0003``: part ``number`` (from 1) of a request cut in ``count``."""
    if not 1 <= number <= count <= 9999:
        raise ValueError(f"part {number} of {count}: parts are numbered 1..count, at most 9999")
    return f"{file_name}.part-{number:04d}-of-{count:04d}"


def part_pattern(file_name: str) -> str:
    """A glob matching every part name of ``file_name``."""
    return f"{file_name}.part-*-of-*"


def parse_part_name(name: str) -> Optional[Tuple[int, int]]:
    """``(number, count)`` of a part name, or None when ``name`` is not one."""
    match = _PART.search(name)
    return None if match is None else (int(match.group(1)), int(match.group(2)))


def request_environment(request: bytes) -> Dict[str, str]:
    """The request's digest, for the runtime to check the delivered bytes against.

    Backends set it where the request's own transport cannot reach (process environment,
    container config, immutable pod spec) and after the user's ``env``, so it cannot be overridden.
    """
    return {REQUEST_DIGEST_ENV: request_digest(request)}


def venv_environment(venv: str, airflow_home: str, search_path: Optional[str] = None) -> Dict[str, str]:
    """What an activated venv sets, the target's own ``AIRFLOW_HOME`` and unbuffered output.

    ``PATH`` is only set when ``search_path`` (what the venv's ``bin`` goes in front of) is given:
    a pod keeps its image's ``PATH``.
    """
    env: Dict[str, str] = {} if search_path is None else {"PATH": f"{venv}/bin:{search_path}"}
    env.update({"VIRTUAL_ENV": venv, "AIRFLOW_HOME": airflow_home, "PYTHONUNBUFFERED": "1"})
    return env


VENV_AIRFLOW_HOME = "airflow-home"
"""The folder inside a built venv that is the target's ``AIRFLOW_HOME``."""
DROPPED_PREFIXES = ("AIRFLOW_", "_AIRFLOW")
DROPPED_VARIABLES = frozenset({"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"})


def venv_airflow_home(venv: str) -> str:
    return f"{venv}/{VENV_AIRFLOW_HOME}"


def target_environment(base: Mapping[str, str], venv: str, airflow_home: str) -> Dict[str, str]:
    """``base`` (the worker's environment) as a task in the built venv ``venv`` sees it: without
    any Airflow setting or Python path of the host, activated, with ``airflow_home`` (the venv's
    own, :func:`venv_airflow_home`). The venv backend runs tasks with it; ``isolationctl env run``
    runs commands with it."""
    env = {
        key: value
        for key, value in base.items()
        if not key.startswith(DROPPED_PREFIXES) and key not in DROPPED_VARIABLES
    }
    env.update(venv_environment(venv, airflow_home, env.get("PATH", os.defpath)))
    return env

"""Running ``docker build`` through the SDK and showing it as it happens.

Each ``Step N/M`` is printed (dim) with "cached" when Docker reused the layer; a spinner shows the
latest output line of the running step. The full log is kept, and a failure is reported with the
last lines of it, which is where apt's or uv's explanation is.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from rich.text import Text

from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image.docker_engine import DOCKER_ERRORS, explain
from airflow_isolation.cli.ui import Steps

TAIL_LINES = 30
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


@dataclass
class BuildLog:
    """What a build printed: its steps, which of them were cached, and the tail of its output."""

    steps: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    image_id: str | None = None

    @property
    def cached_count(self) -> int:
        return len(self.cached)


def stream_lines(chunks: Iterable[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """``("line", text)`` for each complete output line, ``("id", image_id)``, ``("error", msg)``."""
    pending = ""
    for chunk in chunks:
        if "errorDetail" in chunk or "error" in chunk:
            detail = chunk.get("errorDetail") or {}
            yield "error", str(detail.get("message") or chunk.get("error") or "unknown error")
            continue
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            yield "id", str(aux["ID"])
        text = chunk.get("stream")
        if not text:
            continue
        pending += _ANSI.sub("", str(text))
        *complete, pending = pending.split("\n")
        for line in complete:
            for part in line.split("\r"):
                if part.strip():
                    yield "line", part.rstrip()
    if pending.strip():
        yield "line", pending.rstrip()


def run_build(
    client: docker.DockerClient,
    context: Path,
    tag: str,
    *,
    platform: str | None,
    nocache: bool,
    steps: Steps,
    what: str,
) -> BuildLog:
    """Build ``context`` as ``tag`` with host networking (the wheel server is on 127.0.0.1)."""
    log = BuildLog()
    with steps.live_step(f"building {what}") as progress:
        try:
            chunks = client.api.build(
                path=str(context),
                tag=tag,
                decode=True,
                rm=True,
                forcerm=True,
                pull=False,
                nocache=nocache,
                network_mode="host",
                platform=platform,
            )
            current = ""
            for kind, value in stream_lines(chunks):
                if kind == "error":
                    raise build_failed(what, value, log)
                if kind == "id":
                    log.image_id = value
                    continue
                log.tail.append(value)
                step = _STEP.match(value)
                if step:
                    current = f"step {step.group(1)}/{step.group(2)}"
                    log.steps.append(value)
                    steps.console.print(Text(f"  {value}", style="dim"), soft_wrap=True)
                elif value.strip() == "---> Using cache":
                    log.cached.append(log.steps[-1] if log.steps else "")
                    steps.console.print(Text("    cached", style="dim"))
                progress(f"{current}: {value.strip()}")
        except DOCKER_ERRORS as exc:
            raise build_failed(what, explain(exc), log) from exc
        if log.image_id is None:
            raise build_failed(what, "the engine reported no image id", log)
    return log


def build_failed(what: str, message: str, log: BuildLog) -> CliError:
    tail = list(log.tail)[-TAIL_LINES:]
    step = log.steps[-1] if log.steps else "before the first step"
    return CliError(
        f"building {what} failed at {step}: {message.strip()}",
        "read the build output above: a package name apt does not know (`packages`/packages.txt), or a "
        "wheel that does not install on the base image; fix the environment and build again",
        details=tail,
        details_title=f"last {len(tail)} lines of the build log:",
    )

"""Image build pieces that need no Docker engine: Dockerfile, hashes, platforms, parsing, streams."""

from __future__ import annotations

import dataclasses
import socket
import threading
import urllib.request
from pathlib import Path

import msgspec
import pytest

from airflow_isolation.cli.builds.hashing import effective_definition_digest, image_content_hash
from airflow_isolation.cli.builds.runtime_source import find_runtime_source
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image.base_image import (
    BaseImageChoice,
    BaseProbe,
    check_python,
    choose_base_image,
    parse_probe,
)
from airflow_isolation.cli.image.build_context import DockerfileSpec, recipe_digest, render_dockerfile
from airflow_isolation.cli.image.build_stream import stream_lines
from airflow_isolation.cli.image.plan import validate_human_tag
from airflow_isolation.cli.image.push import consume_push, push_error, push_hint
from airflow_isolation.cli.image.registry import validate_registry
from airflow_isolation.cli.image.runtime_wheels import pinned_requirements, runtime_wheels
from airflow_isolation.cli.image.system_packages import parse_packages_text, system_packages
from airflow_isolation.cli.image.target_platform import arch_of_docker_platform, target_platform
from airflow_isolation.cli.image.wheel_server import serve
from airflow_isolation.cli.image.wheelhouse import Pin, _unavailable_pin, parse_pins, wheels_by_pin
from airflow_isolation.workspace.environment import EnvironmentDefinition
from airflow_isolation.workspace.project_settings import ProjectSettings

SPEC = DockerfileSpec(
    base_image="sha256:base",
    name="tiny",
    content_hash="c" * 64,
    python_version="3.11.2",
    packages=("jq", "libpq5"),
    server_url="http://127.0.0.1:47617",
)


def instructions(dockerfile: str) -> list[str]:
    return [line.split(" ", 1)[0] for line in dockerfile.splitlines() if line and not line.startswith("#")]


def test_dockerfile_orders_layers_for_cache_hits() -> None:
    text = render_dockerfile(SPEC)
    lines = [line for line in text.splitlines() if not line.startswith("#")]

    assert instructions(text) == [
        "FROM",
        "RUN",
        "RUN",
        "COPY",
        "COPY",
        "RUN",
        "COPY",
        "RUN",
        "ENV",
        "LABEL",
        "CMD",
    ]
    assert lines[0] == "FROM sha256:base"
    assert "apt-get install -y --no-install-recommends jq libpq5" in lines[1]
    assert "rm -rf /var/lib/apt/lists/*" in lines[1]
    assert lines[2].startswith("RUN python3 -m venv --without-pip /opt/isolation/venv")
    assert "mkdir -p -m 1777 /isolation /opt/isolation/airflow-home" in lines[2]
    # Each install is preceded by the COPY of exactly what it installs (the cache key).
    assert lines[4] == "COPY requirements.lock /opt/isolation/requirements.lock"
    assert lines[5] == (
        "RUN python3 /opt/isolation/install.py http://127.0.0.1:47617 wheels /opt/isolation/requirements.lock"
    )
    assert lines[6] == "COPY runtime.txt /opt/isolation/runtime.txt"
    assert lines[7].endswith("runtime /opt/isolation/runtime.txt")
    assert "AIRFLOW_HOME=/opt/isolation/airflow-home" in lines[8]
    assert "PATH=/opt/isolation/venv/bin:$PATH" in lines[8]
    # Per-build values come last so they never invalidate a cached layer.
    assert f'io.airflow-isolation.content-hash="{"c" * 64}"' in lines[9]
    assert 'io.airflow-isolation.environment="tiny"' in lines[9]
    assert lines[10] == 'CMD ["/opt/isolation/venv/bin/python", "-m", "airflow_isolation.runtime", "--help"]'
    assert "c" * 64 not in "\n".join(lines[:9])


def test_dockerfile_without_packages_has_no_apt_step() -> None:
    text = render_dockerfile(dataclasses.replace(SPEC, packages=()))
    assert "apt-get" not in text
    assert instructions(text)[:2] == ["FROM", "RUN"]


def test_install_commands_do_not_depend_on_the_build() -> None:
    """Docker caches RUN on its text: another hash or environment must not change the install lines."""
    one = render_dockerfile(SPEC).splitlines()
    other = render_dockerfile(dataclasses.replace(SPEC, name="other", content_hash="d" * 64)).splitlines()
    assert one[:-2] == other[:-2]
    assert recipe_digest() == recipe_digest()


HASH_INPUTS = {
    "recipe": "r",
    "base_image_id": "sha256:base",
    "platform": "linux/amd64 x86_64-manylinux_2_36",
    "python_version": "3.11.2",
    "lock_text": "six==1.16.0\n",
    "packages": ("jq",),
    "runtime_version": "0.1.0",
    "definition_digest": "d" * 64,
}


def test_image_content_hash_changes_with_every_input() -> None:
    reference = image_content_hash(**HASH_INPUTS)  # type: ignore[arg-type]
    assert len(reference) == 64
    for key, value in HASH_INPUTS.items():
        changed = {**HASH_INPUTS, key: ("jq", "curl") if key == "packages" else f"{value}x"}
        assert image_content_hash(**changed) != reference, key  # type: ignore[arg-type]


def test_description_and_formatting_do_not_change_the_definition_digest() -> None:
    base = EnvironmentDefinition(python="3.11", requirements=["six"], packages=["jq"], description="a")
    assert effective_definition_digest(base) == effective_definition_digest(
        msgspec.structs.replace(base, description="something else entirely")
    )
    for change in (
        {"python": "3.12"},
        {"requirements": ["six==1.16.0"]},
        {"packages": ["curl"]},
        {"base_image": "python:3.11-slim"},
    ):
        assert effective_definition_digest(
            msgspec.structs.replace(base, **change)
        ) != effective_definition_digest(base), change


def test_platform_from_a_bookworm_probe() -> None:
    platform = target_platform("3.11.2", "x86_64", "glibc", "2.36")

    assert platform.uv_platform == "x86_64-manylinux_2_36"
    assert platform.docker_platform == "linux/amd64"
    assert platform.abi == "cp311"
    assert platform.python_short == "3.11"
    pip = platform.pip_platforms
    assert pip[0] == "manylinux_2_36_x86_64"
    assert pip[-4:] == [
        "manylinux_2_17_x86_64",
        "manylinux2014_x86_64",
        "manylinux2010_x86_64",
        "manylinux1_x86_64",
    ]
    tags = {str(tag) for tag in platform.wheel_tags}
    assert "cp311-cp311-manylinux_2_17_x86_64" in tags
    assert "cp38-abi3-manylinux_2_28_x86_64" in tags
    assert "py3-none-any" in tags
    assert "cp311-cp311-linux_x86_64" in tags
    assert "cp312-cp312-manylinux_2_17_x86_64" not in tags
    assert "cp311-cp311-manylinux_2_38_x86_64" not in tags


@pytest.mark.parametrize(
    ("machine", "glibc", "uv_platform"),
    [
        ("x86_64", "2.41", "x86_64-manylinux_2_40"),
        ("x86_64", "2.29", "x86_64-manylinux_2_28"),
        ("aarch64", "2.36", "aarch64-manylinux_2_36"),
        ("arm64", "2.17", "aarch64-manylinux_2_17"),
    ],
)
def test_uv_platform_is_the_newest_one_the_glibc_runs(machine: str, glibc: str, uv_platform: str) -> None:
    platform = target_platform("3.12.1", machine, "glibc", glibc)
    assert platform.uv_platform == uv_platform
    if platform.arch == "aarch64":
        assert "manylinux2010_aarch64" not in platform.pip_platforms
        assert platform.docker_platform == "linux/arm64"


def test_unsupported_platforms_are_refused_with_a_fix() -> None:
    with pytest.raises(CliError, match="musl") as musl:
        target_platform("3.11.9", "x86_64", "", "")
    assert "python:3.11-slim-bookworm" in musl.value.hint
    with pytest.raises(CliError, match=r"older than 2\.17"):
        target_platform("3.11.9", "x86_64", "glibc", "2.12")
    with pytest.raises(CliError, match="not supported"):
        target_platform("3.11.9", "s390x", "glibc", "2.36")
    assert arch_of_docker_platform("linux/amd64") == "x86_64"
    assert arch_of_docker_platform("linux/arm64/v8") == "aarch64"
    with pytest.raises(CliError, match="not a Linux platform"):
        arch_of_docker_platform("windows/amd64")


def test_base_image_precedence() -> None:
    definition = EnvironmentDefinition(python="3.12")
    project = ProjectSettings(base_image="corp/python:3.12", source="/p/isolation.toml")

    assert choose_base_image("mine:1", msgspec.structs.replace(definition, base_image="def:1"), project) == (
        BaseImageChoice("mine:1", "--base-image")
    )
    assert choose_base_image(
        None, msgspec.structs.replace(definition, base_image="def:1"), project
    ).reference == ("def:1")
    from_project = choose_base_image(None, definition, project)
    assert from_project.reference == "corp/python:3.12"
    assert "/p/isolation.toml" in from_project.source
    assert choose_base_image(None, definition, ProjectSettings()).reference == "python:3.12-slim-bookworm"
    exact = EnvironmentDefinition(python="3.11.7")
    assert choose_base_image(None, exact, ProjectSettings()).reference == "python:3.11.7-slim-bookworm"


def test_base_image_python_must_match_the_definition() -> None:
    probe = BaseProbe(
        python_version="3.11.2", machine="x86_64", libc="glibc", libc_version="2.36", has_apt=True
    )
    choice = BaseImageChoice("isolation-base:bookworm", "--base-image")

    assert check_python(probe, choice, "3.11", "tiny") is None
    assert "not exactly 3.11.7" in str(check_python(probe, choice, "3.11.7", "tiny"))
    with pytest.raises(
        CliError, match=r"has Python 3\.11\.2 but environment 'tiny' asks for python = '3\.12'"
    ) as exc:
        check_python(probe, choice, "3.12", "tiny")
    assert "python:3.12-slim-bookworm" in exc.value.hint


def test_probe_output_is_parsed_and_checked() -> None:
    choice = BaseImageChoice("img", "--base-image")
    line = (
        '{"python": "3.11.2", "machine": "x86_64", "libc": "glibc", "libc_version": "2.36", '
        '"apt": true, "implementation": "cpython"}'
    )
    assert parse_probe(f"noise\n{line}\n", choice) == BaseProbe("3.11.2", "x86_64", "glibc", "2.36", True)
    with pytest.raises(CliError, match="not CPython"):
        parse_probe(line.replace("cpython", "pypy"), choice)
    with pytest.raises(CliError, match="printed no probe result"):
        parse_probe("", choice)


def test_system_packages_merge_the_definition_and_packages_txt(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "packages.txt").write_text("# tools\ncurl jq  # json\n\nlibpq5\n")
    definition = EnvironmentDefinition(packages=["jq", "git"])

    assert parse_packages_text("a b # c\n d") == ["a", "b", "d"]
    assert system_packages(tmp_path, "tiny", definition) == ("curl", "git", "jq", "libpq5")
    (folder / "packages.txt").write_text("curl; rm -rf /\n")
    with pytest.raises(CliError, match="not a Debian package name") as exc:
        system_packages(tmp_path, "tiny", definition)
    assert "packages.txt" in exc.value.message
    with pytest.raises(CliError, match="`packages` of environment 'tiny'"):
        system_packages(tmp_path, "tiny", EnvironmentDefinition(packages=["$(reboot)"]))


def test_lock_pins_and_wheelhouse_matching(tmp_path: Path) -> None:
    lock = "msgspec==0.19.0\nSix==1.16.0\nzope.interface==6.0\n"
    pins = parse_pins(lock, tmp_path / "environment.toml")
    assert pins == [Pin("msgspec", "0.19.0"), Pin("six", "1.16.0"), Pin("zope-interface", "6.0")]
    platform = target_platform("3.11.2", "x86_64", "glibc", "2.36")
    for name in (
        "six-1.16.0-py2.py3-none-any.whl",
        "msgspec-0.19.0-cp312-cp312-manylinux_2_17_x86_64.whl",  # wrong Python
        "msgspec-0.19.0-cp311-cp311-musllinux_1_2_x86_64.whl",  # wrong libc
        "zope.interface-6.0-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.whl",
        "not-a-wheel.whl",
    ):
        (tmp_path / name).write_bytes(b"")

    found = wheels_by_pin(tmp_path, pins, platform)

    assert set(found) == {Pin("six", "1.16.0"), Pin("zope-interface", "6.0")}
    (tmp_path / "msgspec-0.19.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl").write_bytes(b"")
    assert Pin("msgspec", "0.19.0") in wheels_by_pin(tmp_path, pins, platform)
    with pytest.raises(CliError, match="direct references"):
        parse_pins("pkg @ https://example.invalid/pkg.tar.gz\n", tmp_path / "environment.toml")


def test_pip_failure_names_the_pin_without_a_wheel() -> None:
    pins = [Pin("six", "1.16.0"), Pin("docopt", "0.6.2")]
    stderr = (
        "ERROR: Could not find a version that satisfies the requirement docopt==0.6.2 (from versions: none)\n"
        "ERROR: No matching distribution found for docopt==0.6.2\n"
    )
    assert _unavailable_pin(stderr, pins) == Pin("docopt", "0.6.2")
    assert _unavailable_pin("ERROR: connection reset", pins) is None


def test_build_stream_lines_are_reassembled_and_errors_surface() -> None:
    chunks = [
        {"stream": "Step 1/2 : FROM x"},
        {"stream": "\n"},
        {"stream": " ---> Using cache\n ---> abc\n\x1b[91mcolour\x1b[0m\rprogress\n"},
        {"aux": {"ID": "sha256:123"}},
        {"errorDetail": {"message": "apt failed"}, "error": "apt failed"},
        {"stream": "tail without newline"},
    ]
    assert list(stream_lines(chunks)) == [
        ("line", "Step 1/2 : FROM x"),
        ("line", " ---> Using cache"),
        ("line", " ---> abc"),
        ("line", "colour"),
        ("line", "progress"),
        ("id", "sha256:123"),
        ("error", "apt failed"),
        ("line", "tail without newline"),
    ]


def test_every_push_status_line_is_checked() -> None:
    assert push_error({"status": "Pushing", "id": "abc"}) is None
    assert push_error({"error": "short", "errorDetail": {"message": "full text"}}) == "full text"
    assert push_error({"error": "only error"}) == "only error"
    seen: list[str] = []
    lines = [
        {"status": "The push refers to repository [r/x]"},
        {"status": "Pushed", "id": "abc"},
        {"status": "t: digest: sha256:d size: 1", "aux": {"Tag": "t", "Digest": "sha256:d", "Size": 1}},
    ]
    assert consume_push(lines, "r/x:t", "r", seen.append) == "sha256:d"
    assert "abc Pushed" in seen
    failing = [*lines[:2], {"errorDetail": {"message": "dial tcp 127.0.0.1:1: connect: connection refused"}}]
    with pytest.raises(CliError, match="connection refused") as exc:
        consume_push(failing, "127.0.0.1:1/x:t", "127.0.0.1:1", seen.append)
    assert "start the registry at 127.0.0.1:1" in exc.value.hint
    assert "docker login r" in push_hint("r", "unauthorized: authentication required")
    assert "insecure-registries" in push_hint("r", "http: server gave HTTP response to HTTPS client")


def test_registry_and_tag_validation() -> None:
    assert validate_registry("localhost:5000/", "--registry") == "localhost:5000"
    assert validate_registry("ghcr.io/my-org", "--registry") == "ghcr.io/my-org"
    with pytest.raises(CliError, match="URL scheme") as exc:
        validate_registry("http://localhost:5000", "--registry")
    assert "'localhost:5000'" in exc.value.hint
    with pytest.raises(CliError, match=r"not HOST\[:PORT\]"):
        validate_registry("local host", "--registry")
    assert validate_human_tag("stable-1.0") == "stable-1.0"
    for bad in ("", "-x", "a b", "a" * 129, "0123456789abcdef01234567"):
        with pytest.raises(CliError):
            validate_human_tag(bad)


def test_wheel_server_serves_listings_and_falls_back_when_another_program_has_the_port(
    tmp_path: Path,
) -> None:
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "six-1.16.0-py2.py3-none-any.whl").write_bytes(b"zip")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 47690))
        blocker.listen()
        with serve(tmp_path, preferred_port=47690) as url:
            assert url == "http://127.0.0.1:47691"
            listing = urllib.request.urlopen(f"{url}/wheels/", timeout=5).read().decode()
            assert 'href="six-1.16.0-py2.py3-none-any.whl"' in listing
            data = urllib.request.urlopen(f"{url}/wheels/six-1.16.0-py2.py3-none-any.whl", timeout=5).read()
            assert data == b"zip"


def test_concurrent_builds_queue_for_the_preferred_port_instead_of_missing_the_cache(tmp_path: Path) -> None:
    urls: list[str] = []

    def second_build() -> None:
        with serve(tmp_path, preferred_port=47693) as url:
            urls.append(url)

    with serve(tmp_path, preferred_port=47693) as first:
        waiting = threading.Thread(target=second_build)
        waiting.start()
        waiting.join(timeout=0.5)
        assert waiting.is_alive(), "the second build must wait for the port, not take another one"
    waiting.join(timeout=10)
    assert first == "http://127.0.0.1:47693"
    assert urls == ["http://127.0.0.1:47693"]


def test_runtime_wheels_are_built_once_per_runtime_version(
    runtime_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISOLATION_RUNTIME_SOURCE", str(runtime_source))
    first = runtime_wheels(find_runtime_source(), tmp_path / "build")
    wheels = sorted(path.name for path in first.glob("*.whl"))
    assert wheels == [
        "airflow_isolation_core-0.1.0-py3-none-any.whl",
        "airflow_isolation_runtime-0.1.0-py3-none-any.whl",
    ]
    stamp = (first / wheels[1]).stat().st_mtime_ns

    assert runtime_wheels(find_runtime_source(), tmp_path / "build") == first
    assert (first / wheels[1]).stat().st_mtime_ns == stamp

    module = runtime_source / "isolation-runtime" / "src" / "airflow_isolation" / "runtime" / "__init__.py"
    module.write_text('MARK = "edited"\n')
    second = runtime_wheels(find_runtime_source(), tmp_path / "build")
    assert second != first
    pins = pinned_requirements(sorted(second.glob("*.whl")))
    assert pins.splitlines()[1].startswith("airflow-isolation-runtime==0.1.0 --hash=sha256:")
    assert pins != pinned_requirements(sorted(first.glob("*.whl")))

"""Asking a registry whether it already has an image, without pulling it.

Existence goes through the engine (``docker.images.get_registry_data``), so the engine's own
credentials and insecure-registry settings apply. The image id a manifest records (the config
digest, what ``docker images`` shows after a pull) is not part of that answer; it is read from the
registry's v2 API anonymously, best effort.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import docker
import docker.errors

from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image.docker_engine import DOCKER_ERRORS, explain

_SCHEME = re.compile(r"^[a-z]+://", re.IGNORECASE)
_REGISTRY = re.compile(r"^[A-Za-z0-9.-]+(?::\d+)?(?:/[a-z0-9._/-]+)?$")
_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    )
)
HTTP_TIMEOUT = 10


def validate_registry(registry: str, where: str) -> str:
    """``HOST[:PORT][/namespace]`` as Docker expects it in a reference."""
    value = registry.strip().rstrip("/")
    if _SCHEME.match(value):
        raise CliError(
            f"registry {registry!r} ({where}) has a URL scheme",
            f"drop it: use {_SCHEME.sub('', value)!r} (Docker picks http or https itself)",
        )
    if not _REGISTRY.match(value):
        raise CliError(
            f"registry {registry!r} ({where}) is not HOST[:PORT][/namespace]",
            "pass e.g. --registry localhost:5000 or --registry ghcr.io/my-org",
        )
    return value


@dataclass(frozen=True)
class RegistryLookup:
    """``found`` when the registry has the reference; ``problem`` when it could not be asked."""

    found: bool
    problem: str = ""


def lookup(client: docker.DockerClient, reference: str) -> RegistryLookup:
    try:
        client.images.get_registry_data(reference)
    except docker.errors.NotFound:
        return RegistryLookup(False)
    except DOCKER_ERRORS as exc:
        reason = explain(exc)
        if "manifest unknown" in reason or "not found" in reason.lower():
            return RegistryLookup(False)
        return RegistryLookup(False, reason)
    return RegistryLookup(True)


def _split(reference: str) -> tuple[str, str, str]:
    registry, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    return registry, repository, tag


def _is_loopback(registry: str) -> bool:
    host = urllib.parse.urlsplit(f"//{registry}").hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def _get_json(url: str, token: str | None) -> tuple[dict[str, object], str]:
    request = urllib.request.Request(url, headers={"Accept": _MANIFEST_TYPES})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        return json.loads(response.read()), response.headers.get("Content-Type", "")


def _anonymous_token(challenge: str) -> str | None:
    """A bearer token for pulling, from the ``WWW-Authenticate`` challenge (public images)."""
    if not challenge.lower().startswith("bearer "):
        return None
    fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    realm = fields.pop("realm", None)
    if not realm:
        return None
    url = f"{realm}?{urllib.parse.urlencode(fields)}"
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
        data = json.loads(response.read())
    token = data.get("token") or data.get("access_token")
    return str(token) if token else None


def config_digest(reference: str, arch: str) -> str | None:
    """The image id (config digest) of ``reference`` for ``arch`` (amd64/arm64), or ``None``."""
    registry, repository, tag = _split(reference)
    scheme = "http" if _is_loopback(registry) else "https"
    base = f"{scheme}://{registry}/v2/{repository}/manifests/"
    token = None
    try:
        try:
            manifest, _ = _get_json(base + tag, token)
        except urllib.error.HTTPError as exc:
            if exc.code != 401:
                return None
            token = _anonymous_token(exc.headers.get("WWW-Authenticate", ""))
            manifest, _ = _get_json(base + tag, token)
        entries = manifest.get("manifests")
        if isinstance(entries, list):
            chosen = next(
                (entry for entry in entries if entry.get("platform", {}).get("architecture") == arch), None
            )
            if chosen is None:
                return None
            manifest, _ = _get_json(base + str(chosen["digest"]), token)
        config = manifest.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
    except (OSError, ValueError, KeyError, AttributeError):
        return None
    return str(digest) if digest else None

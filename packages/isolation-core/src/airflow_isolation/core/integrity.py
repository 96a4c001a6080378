"""Integrity of the request between the host writing it and the runtime reading it.

The request crosses a channel others may be able to write to: a shared volume, a Kubernetes Secret
that someone with RBAC on Secrets can delete and recreate under the same name before the kubelet
mounts it. The host therefore sends the SHA-256 of the exact bytes it wrote through a channel that
transport cannot alter (the process or container environment, the immutable pod spec; the variable
is ``airflow_isolation.core.launch.REQUEST_DIGEST_ENV``), and the runtime refuses a request that
does not match.

A plain digest is used rather than an HMAC: an HMAC key would need a second, secret channel the
attacker cannot read, while a digest may be public because it cannot be forged (a second preimage
is infeasible). The request's random ``nonce`` keeps the public digest from confirming guesses of
low-entropy secrets inside it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from airflow_isolation.core.errors import RequestIntegrityError

NONCE_BYTES = 32


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def request_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify_request(data: bytes, expected: str, where: str) -> None:
    """Raise unless ``data`` is exactly what the host wrote."""
    actual = request_digest(data)
    if not hmac.compare_digest(actual, expected.strip().lower()):
        raise RequestIntegrityError(
            f"the request {where} ({len(data)} bytes) does not match the SHA-256 the host computed when "
            "it wrote it: it was modified, truncated or replaced after the host wrote it, so the task was "
            "not run. Re-run the task; if this repeats, find what else writes to where the request is "
            "delivered (a shared volume, a recreated Kubernetes Secret)."
        )

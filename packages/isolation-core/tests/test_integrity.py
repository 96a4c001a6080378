from __future__ import annotations

import pytest
from core_test_support import request

from airflow_isolation.core import RequestIntegrityError, encode
from airflow_isolation.core.integrity import new_nonce, request_digest, verify_request


def test_the_exact_bytes_pass() -> None:
    data = encode(request({"x": 1}))
    verify_request(data, request_digest(data), "/tmp/r")
    verify_request(data, request_digest(data).upper(), "/tmp/r")


@pytest.mark.parametrize(
    "tamper",
    [lambda b: b[:-1], lambda b: b + b"\x00", lambda b: b[:10] + bytes([b[10] ^ 1]) + b[11:], lambda b: b""],
    ids=["truncated", "extended", "one-bit", "emptied"],
)
def test_any_change_is_refused(tamper: object) -> None:
    data = encode(request({"x": 1}))
    with pytest.raises(RequestIntegrityError, match=r"does not match the SHA-256.*was not run.*Re-run"):
        verify_request(tamper(data), request_digest(data), "/isolation/request.msgpack")  # type: ignore[operator]


def test_nonces_differ_so_equal_requests_get_different_digests() -> None:
    first, second = new_nonce(), new_nonce()
    assert len(first) == 32 and first != second
    req = request({"password": "1234"})
    req.nonce = first
    one = request_digest(encode(req))
    req.nonce = second
    assert request_digest(encode(req)) != one

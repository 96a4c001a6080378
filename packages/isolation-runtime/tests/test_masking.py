from __future__ import annotations

import io

from airflow_isolation.runtime.process.masking import RedactingStream, secrets_worth_masking


def test_secret_split_across_writes_is_redacted() -> None:
    sink = io.StringIO()
    stream = RedactingStream(sink, secrets_worth_masking(["s3cr3t-value", "ab"]))
    stream.write("token=s3cr")
    stream.write("3t-value and more\nnext ")
    stream.flush()
    assert sink.getvalue() == "token=*** and more\nnext "


def test_longest_secret_first() -> None:
    assert secrets_worth_masking(["abc", "abcdef", "x"]) == ["abcdef", "abc"]

"""airflow-isolation wire schema: the one contract both sides of the process boundary share."""

from airflow_isolation.core.__about__ import __version__
from airflow_isolation.core.codec import (
    check_compatible,
    decode_request,
    decode_request_json,
    decode_result,
    decode_result_json,
    encode,
    encode_json,
)
from airflow_isolation.core.errors import (
    IsolationError,
    RequestDecodeError,
    RequestIntegrityError,
    SchemaVersionError,
    ValueEncodeError,
)
from airflow_isolation.core.schema import (
    SCHEMA_VERSION,
    CallableSpec,
    ConnectionSpec,
    ErrorInfo,
    IsolationRequest,
    IsolationResult,
    OperatorSpec,
    RunOptions,
    SchemaVersion,
    TaskContext,
    Timings,
    VariableWrite,
    XComPush,
)

__all__ = [
    "SCHEMA_VERSION",
    "CallableSpec",
    "ConnectionSpec",
    "ErrorInfo",
    "IsolationError",
    "IsolationRequest",
    "IsolationResult",
    "OperatorSpec",
    "RequestDecodeError",
    "RequestIntegrityError",
    "RunOptions",
    "SchemaVersion",
    "SchemaVersionError",
    "TaskContext",
    "Timings",
    "ValueEncodeError",
    "VariableWrite",
    "XComPush",
    "__version__",
    "check_compatible",
    "decode_request",
    "decode_request_json",
    "decode_result",
    "decode_result_json",
    "encode",
    "encode_json",
]

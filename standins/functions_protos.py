"""The messages the Azure Functions host and a language worker exchange (protobuf package
`AzureFunctionsRpcMessages`), as real protobuf classes: the part of the host's FunctionRpc.proto
that the Python runtime and the stand-in host use, with the host's field names and numbers.

In Azure the proxy worker hands the runtime its generated module of these classes as
`request.properties["protos"]`; this module is that stand-in. No protoc is needed: the schema
below is turned into a file descriptor with protobuf's own descriptor API at import. A field is
`(name, number, type)` or `(name, number, type, oneof)`; a type is a scalar, `repeated T`,
`map<K,V>`, a message or enum of this package (`Outer.Inner` for nested enums), or a
`google.protobuf` well-known type.
"""

from __future__ import annotations

import re
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, duration_pb2, message_factory
from google.protobuf import timestamp_pb2 as _timestamp_pb2  # registers Timestamp in the pool

PACKAGE = "AzureFunctionsRpcMessages"

_ENUMS: dict[str, list[str]] = {
    "StatusResult.Status": ["Failure", "Success", "Cancelled"],
    "BindingInfo.Direction": ["in", "out", "inout"],
    "BindingInfo.DataType": ["undefined", "string", "binary", "stream"],
    "RpcLog.Level": ["Trace", "Debug", "Information", "Warning", "Error", "Critical", "None"],
    "RpcLog.RpcLogCategory": ["User", "System", "CustomMetric"],
    "RpcHttpCookie.SameSite": ["None", "Lax", "Strict", "ExplicitNone"],
    "RpcRetryOptions.RetryStrategy": ["exponential_backoff", "fixed_delay"],
}

FieldSpec = tuple[str, ...] | tuple[str, int, str] | tuple[str, int, str, str]

_MESSAGES: dict[str, list[FieldSpec]] = {
    "StreamingMessage": [
        ("request_id", 1, "string"),
        ("start_stream", 20, "StartStream", "content"),
        ("worker_init_request", 17, "WorkerInitRequest", "content"),
        ("worker_init_response", 16, "WorkerInitResponse", "content"),
        ("function_load_request", 8, "FunctionLoadRequest", "content"),
        ("function_load_response", 9, "FunctionLoadResponse", "content"),
        ("invocation_request", 4, "InvocationRequest", "content"),
        ("invocation_response", 5, "InvocationResponse", "content"),
        ("rpc_log", 2, "RpcLog", "content"),
        ("functions_metadata_request", 29, "FunctionsMetadataRequest", "content"),
        ("function_metadata_response", 30, "FunctionMetadataResponse", "content"),
    ],
    "StartStream": [("worker_id", 2, "string")],
    "WorkerInitRequest": [
        ("host_version", 1, "string"),
        ("capabilities", 2, "map<string,string>"),
        ("log_categories", 3, "map<string,RpcLog.Level>"),
        ("worker_directory", 4, "string"),
        ("function_app_directory", 5, "string"),
    ],
    "WorkerInitResponse": [
        ("worker_version", 1, "string"),
        ("capabilities", 2, "map<string,string>"),
        ("result", 3, "StatusResult"),
        ("worker_metadata", 4, "WorkerMetadata"),
    ],
    "WorkerMetadata": [
        ("runtime_name", 1, "string"),
        ("runtime_version", 2, "string"),
        ("worker_version", 3, "string"),
        ("worker_bitness", 4, "string"),
        ("custom_properties", 5, "map<string,string>"),
    ],
    "StatusResult": [
        ("status", 4, "StatusResult.Status"),
        ("result", 1, "string"),
        ("exception", 2, "RpcException"),
        ("logs", 3, "repeated RpcLog"),
    ],
    "RpcException": [
        ("source", 3, "string"),
        ("stack_trace", 1, "string"),
        ("message", 2, "string"),
        ("is_user_exception", 4, "bool"),
        ("type", 5, "string"),
    ],
    "RpcLog": [
        ("invocation_id", 1, "string"),
        ("category", 2, "string"),
        ("level", 3, "RpcLog.Level"),
        ("message", 4, "string"),
        ("event_id", 5, "string"),
        ("exception", 6, "RpcException"),
        ("properties", 7, "string"),
        ("log_category", 8, "RpcLog.RpcLogCategory"),
    ],
    "FunctionsMetadataRequest": [("function_app_directory", 1, "string")],
    "FunctionMetadataResponse": [
        ("function_metadata_results", 1, "repeated RpcFunctionMetadata"),
        ("result", 2, "StatusResult"),
        ("use_default_metadata_indexing", 3, "bool"),
    ],
    "RpcFunctionMetadata": [
        ("name", 4, "string"),
        ("directory", 1, "string"),
        ("script_file", 2, "string"),
        ("entry_point", 3, "string"),
        ("bindings", 6, "map<string,BindingInfo>"),
        ("is_proxy", 7, "bool"),
        ("status", 8, "StatusResult"),
        ("language", 9, "string"),
        ("raw_bindings", 10, "repeated string"),
        ("function_id", 13, "string"),
        ("managed_dependency_enabled", 14, "bool"),
        ("retry_options", 15, "RpcRetryOptions"),
        ("properties", 16, "map<string,string>"),
    ],
    "BindingInfo": [
        ("type", 2, "string"),
        ("direction", 3, "BindingInfo.Direction"),
        ("data_type", 4, "BindingInfo.DataType"),
        ("properties", 5, "map<string,string>"),
    ],
    "RpcRetryOptions": [
        ("max_retry_count", 2, "int32"),
        ("delay_interval", 3, "google.protobuf.Duration"),
        ("minimum_interval", 4, "google.protobuf.Duration"),
        ("maximum_interval", 5, "google.protobuf.Duration"),
        ("retry_strategy", 6, "RpcRetryOptions.RetryStrategy"),
    ],
    "FunctionLoadRequest": [
        ("function_id", 1, "string"),
        ("metadata", 2, "RpcFunctionMetadata"),
        ("managed_dependency_enabled", 3, "bool"),
    ],
    "FunctionLoadResponse": [
        ("function_id", 1, "string"),
        ("result", 2, "StatusResult"),
        ("is_dependency_downloaded", 3, "bool"),
    ],
    "InvocationRequest": [
        ("invocation_id", 1, "string"),
        ("function_id", 2, "string"),
        ("input_data", 3, "repeated ParameterBinding"),
        ("trigger_metadata", 4, "map<string,TypedData>"),
        ("trace_context", 5, "RpcTraceContext"),
        ("retry_context", 6, "RetryContext"),
    ],
    "RpcTraceContext": [
        ("trace_parent", 1, "string"),
        ("trace_state", 2, "string"),
        ("attributes", 3, "map<string,string>"),
    ],
    "RetryContext": [
        ("retry_count", 1, "int32"),
        ("max_retry_count", 2, "int32"),
        ("exception", 3, "RpcException"),
    ],
    "InvocationResponse": [
        ("invocation_id", 1, "string"),
        ("output_data", 2, "repeated ParameterBinding"),
        ("return_value", 4, "TypedData"),
        ("result", 3, "StatusResult"),
    ],
    "ParameterBinding": [("name", 1, "string"), ("data", 2, "TypedData", "rpc_data")],
    "TypedData": [
        ("string", 1, "string", "data"),
        ("json", 2, "string", "data"),
        ("bytes", 3, "bytes", "data"),
        ("stream", 4, "bytes", "data"),
        ("http", 5, "RpcHttp", "data"),
        ("int", 6, "sint64", "data"),
        ("double", 7, "double", "data"),
    ],
    "RpcHttp": [
        ("method", 1, "string"),
        ("url", 2, "string"),
        ("headers", 3, "map<string,string>"),
        ("body", 4, "TypedData"),
        ("params", 10, "map<string,string>"),
        ("status_code", 12, "string"),
        ("query", 15, "map<string,string>"),
        ("enable_content_negotiation", 16, "bool"),
        ("cookies", 19, "repeated RpcHttpCookie"),
    ],
    "RpcHttpCookie": [
        ("name", 1, "string"),
        ("value", 2, "string"),
        ("domain", 3, "NullableString"),
        ("path", 4, "NullableString"),
        ("expires", 5, "NullableTimestamp"),
        ("secure", 6, "NullableBool"),
        ("http_only", 7, "NullableBool"),
        ("same_site", 8, "RpcHttpCookie.SameSite"),
        ("max_age", 9, "NullableDouble"),
    ],
    "NullableString": [("value", 1, "string", "string")],
    "NullableDouble": [("value", 1, "double", "double")],
    "NullableBool": [("value", 1, "bool", "bool")],
    "NullableTimestamp": [("value", 1, "google.protobuf.Timestamp", "timestamp")],
}

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
    "bool": _F.TYPE_BOOL,
    "int32": _F.TYPE_INT32,
    "sint64": _F.TYPE_SINT64,
    "double": _F.TYPE_DOUBLE,
}
_MAP = re.compile(r"map<(\w+),([\w.]+)>")


def _set_type(field: descriptor_pb2.FieldDescriptorProto, type_name: str) -> None:
    if type_name in _SCALARS:
        field.type = _SCALARS[type_name]
    elif type_name.startswith("google.protobuf."):
        field.type, field.type_name = _F.TYPE_MESSAGE, "." + type_name
    else:
        field.type = _F.TYPE_ENUM if type_name in _ENUMS else _F.TYPE_MESSAGE
        field.type_name = f".{PACKAGE}.{type_name}"


def _add_field(message: descriptor_pb2.DescriptorProto, spec: FieldSpec) -> None:
    name, number, type_name, *oneof = spec
    field = message.field.add(name=str(name), number=int(number), label=_F.LABEL_OPTIONAL)
    if oneof:
        names = [o.name for o in message.oneof_decl]
        if oneof[0] not in names:
            message.oneof_decl.add(name=oneof[0])
            names.append(oneof[0])
        field.oneof_index = names.index(oneof[0])
    if str(type_name).startswith("repeated "):
        field.label = _F.LABEL_REPEATED
        type_name = str(type_name).removeprefix("repeated ")
    if match := _MAP.fullmatch(str(type_name)):
        # A map is a repeated nested `<Name>Entry` message with key 1 and value 2.
        entry = message.nested_type.add(name="".join(p.title() for p in name.split("_")) + "Entry")
        entry.options.map_entry = True
        _add_field(entry, ("key", 1, match.group(1)))
        _add_field(entry, ("value", 2, match.group(2)))
        field.label, field.type = _F.LABEL_REPEATED, _F.TYPE_MESSAGE
        field.type_name = f".{PACKAGE}.{message.name}.{entry.name}"
        return
    _set_type(field, str(type_name))


def _file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(
        name="FunctionRpc_subset.proto",
        package=PACKAGE,
        syntax="proto3",
        dependency=["google/protobuf/duration.proto", "google/protobuf/timestamp.proto"],
    )
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for spec in fields:
            _add_field(message, spec)
    for qualified, values in _ENUMS.items():
        outer, inner = qualified.split(".")
        message = next(m for m in file.message_type if m.name == outer)
        enum = message.enum_type.add(name=inner)
        for number, value in enumerate(values):
            enum.value.add(name=value, number=number)
    return file


def _build() -> dict[str, type]:
    pool = descriptor_pool.DescriptorPool()
    for well_known in (duration_pb2, _timestamp_pb2):
        pool.AddSerializedFile(well_known.DESCRIPTOR.serialized_pb)
    described = pool.AddSerializedFile(_file().SerializeToString())
    return {
        name: message_factory.GetMessageClass(described.message_types_by_name[name])
        for name in _MESSAGES
    }


globals().update(_build())


def __getattr__(name: str) -> Any:
    """Only for type checkers: the message classes above are made at import, so any other name
    is missing."""
    raise AttributeError(f"module {__name__!r} has no message {name!r}")

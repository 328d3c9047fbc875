"""Run with a Python that has `azure-functions-runtime`: loads `function_app.py` through the
Azure Functions runtime's own loader and function registry, as a worker in Azure does at start,
and prints what it found as JSON."""

from __future__ import annotations

import json
import pathlib
import sys
import types

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from azure_functions_runtime.bindings import meta  # noqa: E402
from azure_functions_runtime.functions import Registry  # noqa: E402
from azure_functions_runtime.loader import index_function_app  # noqa: E402


def _public_name(pytype: type) -> str:
    """The public name of the type the runtime binds, found by identity with the public classes
    (the classic ones live in a private module of azure.functions)."""
    import azure.functions as func
    from starlette.requests import Request
    from starlette.responses import Response

    public = {
        func.HttpRequest: "azure.functions.HttpRequest",
        func.HttpResponse: "azure.functions.HttpResponse",
        Request: "starlette.requests.Request",
        Response: "starlette.responses.Response",
    }
    return public.get(pytype, f"not a public HTTP type: {pytype!r}")


def main() -> None:
    meta.load_binding_registry()
    # The worker's protobuf enum values the registry compares bindings with.
    binding_info = types.SimpleNamespace(**{"in": 0, "out": 1, "inout": 2, "undefined": 0})
    protos = types.SimpleNamespace(BindingInfo=binding_info)
    registry = Registry()
    found = {}
    for function in index_function_app(ROOT / "function_app.py"):
        info = registry.add_indexed_function(function=function, protos=protos)
        request = next(iter(info.input_types.values())).pytype
        response = info.return_type.pytype
        found[info.name] = {
            "http": info.is_http_func,
            "request": _public_name(request),
            "response": _public_name(response),
        }
    from azurefunctions.extensions.base import HttpV2FeatureChecker

    print(
        json.dumps({"functions": found, "http_streaming": HttpV2FeatureChecker.http_v2_enabled()})
    )


if __name__ == "__main__":
    main()

"""The chat application core: request validation, the chat pipeline, model hosts, retrieval and
the wire format. It knows nothing of Azure Functions; `function_app.py` only routes to it."""

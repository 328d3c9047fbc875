"""A local stand-in for the Azure Functions host: serves the HTTP functions that
`function_app.py` declares, under uvicorn as the Functions Python worker does in Azure, plus the
chat page. This is what `make run` starts and what the integration tests drive."""

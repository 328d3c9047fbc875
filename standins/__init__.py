"""Local stand-ins for the services the app talks to (the model, Azure AI Search, the
management API, the Azure Functions host, managed identity, an OTLP collector, Application
Insights ingestion, Azurite), served on loopback over real HTTP, and the helpers that start them
as processes and wait for them. The tests and `make bench` both drive the app against them."""

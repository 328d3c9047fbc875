"""An index of the stand-in Azure AI Search service: its definition, checked as the service
checks one (one key field, vector fields with dimensions and a known profile, semantic
configurations naming known fields), and its documents, checked against it as they are indexed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Index:
    definition: dict[str, Any]
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    etag: int = 1

    @property
    def key(self) -> str:
        return str(next(f["name"] for f in self.definition["fields"] if f.get("key")))

    def field(self, name: str) -> dict[str, Any] | None:
        return next((f for f in self.definition["fields"] if f["name"] == name), None)


def indexing_result(key: str, ok: bool, status: int, message: str | None = None) -> dict[str, Any]:
    """One document's entry in the answer to an indexing batch."""
    return {"key": key, "status": ok, "errorMessage": message, "statusCode": status}


def invalid_definition(name: str, definition: dict[str, Any]) -> str | None:
    if definition.get("name") != name:
        return "The index name in the body does not match the URL."
    fields = definition.get("fields") or []
    if [f.get("key") for f in fields].count(True) != 1:
        return "An index needs exactly one key field."
    vector_search = definition.get("vectorSearch") or {}
    profiles = {p["name"]: p for p in vector_search.get("profiles") or []}
    algorithms = {a["name"]: a for a in vector_search.get("algorithms") or []}
    for profile in profiles.values():
        if profile.get("algorithm") not in algorithms:
            return f"Vector profile '{profile['name']}' names an unknown algorithm."
    for f in fields:
        if f.get("type") == "Collection(Edm.Single)":
            if not isinstance(f.get("dimensions"), int) or f["dimensions"] < 2:
                return f"Vector field '{f['name']}' needs dimensions."
            if f.get("vectorSearchProfile") not in profiles:
                return f"Vector field '{f['name']}' names an unknown vector profile."
    names = {f["name"] for f in fields}
    for config in (definition.get("semantic") or {}).get("configurations", []):
        prioritized = config.get("prioritizedFields") or {}
        wanted = [(prioritized.get("titleField") or {}).get("fieldName")]
        wanted += [c.get("fieldName") for c in prioritized.get("prioritizedContentFields") or []]
        if not prioritized.get("prioritizedContentFields"):
            return f"Semantic configuration '{config['name']}' has no content fields."
        if any(w and w not in names for w in wanted):
            return f"Semantic configuration '{config['name']}' names an unknown field."
    return None


def invalid_document(index: Index, document: dict[str, Any]) -> str | None:
    for name, value in document.items():
        spec = index.field(name)
        if spec is None:
            return f"The field '{name}' is not in the index."
        vector = spec["type"] == "Collection(Edm.Single)"
        if vector and value is not None and len(value) != spec["dimensions"]:
            return f"The vector field '{name}' needs {spec['dimensions']} dimensions."
    return None

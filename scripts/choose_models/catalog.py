"""What the hook knows of Azure OpenAI, as plain data: the models a region offers a subscription
(GET /subscriptions/{id}/providers/Microsoft.CognitiveServices/locations/{region}/models, read
with the Cognitive Services management SDK into `Offer`s), and the deployments an environment
already has (`Deployed`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Model entries for the account kind the Bicep deploys come first (infra/modules/openai.bicep);
# the list repeats OpenAI models under the older OpenAI kind too.
ACCOUNT_KINDS = ("AIServices", "OpenAI")


@dataclass(frozen=True)
class Offer:
    """One model version as the region offers it."""

    name: str
    version: str
    lifecycle: str
    is_default_version: bool
    retires: datetime | None
    """When deployments stop answering (`deprecation.inference`), if announced."""
    skus: dict[str, datetime | None]
    """Deployment SKUs (GlobalStandard, Standard, ...) and when each stops, if announced."""
    capabilities: frozenset[str]
    """Capabilities whose value is "true": responses, chatCompletion, embeddings, ..."""
    usage_names: dict[str, str] = field(default_factory=dict)
    """Deployment SKU to the name its quota is counted under in the region's usages list
    (`OpenAI.GlobalStandard.gpt-5-mini`)."""


@dataclass(frozen=True)
class Deployed:
    """A model deployment the environment's Azure OpenAI account already has."""

    name: str
    model: str
    version: str
    sku: str
    capacity: int


def from_models(models: Iterable[Any]) -> list[Offer]:
    """Offers from the SDK's `Model` items: OpenAI format only, one per name and version."""
    rank = {kind.lower(): i for i, kind in enumerate(ACCOUNT_KINDS)}
    usable = [m for m in models if m.model is not None and (m.kind or "").lower() in rank]
    usable.sort(key=lambda m: rank[m.kind.lower()])
    offers: dict[tuple[str, str], Offer] = {}
    for item in usable:
        model = item.model
        if (model.format or "").lower() != "openai" or not model.name:
            continue
        offers.setdefault((model.name, model.version or ""), _offer(model))
    return list(offers.values())


def _offer(model: Any) -> Offer:
    deprecation = model.deprecation
    return Offer(
        name=model.name,
        version=model.version or "",
        lifecycle=str(model.lifecycle_status or ""),
        is_default_version=bool(model.is_default_version),
        retires=_when(deprecation.inference if deprecation is not None else None),
        skus={sku.name: _when(sku.deprecation_date) for sku in model.skus or [] if sku.name},
        usage_names={sku.name: sku.usage_name for sku in model.skus or [] if sku.usage_name},
        capabilities=frozenset(
            name for name, value in (model.capabilities or {}).items() if value.lower() == "true"
        ),
    )


def _when(value: datetime | str | None) -> datetime | None:
    """A date from the API (the SDK parses some, not others), as an aware UTC datetime."""
    if value is None or value == "":
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)

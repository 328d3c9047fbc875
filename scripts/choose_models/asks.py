"""What a deployment is for (`Purpose`: chat or embeddings, and the azd variables that name its
model, SKU and capacity), and what the person running `azd up` asks of it (`Ask`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scripts.choose_models.catalog import Deployed


@dataclass(frozen=True)
class Purpose:
    """What a deployment is for: the capability it needs and the azd variables that name it."""

    label: str
    capability: str
    serves: str
    variable: str
    sku_variable: str

    deployment: str
    """infra/main.bicep's default name of the deployment."""

    @property
    def version_variable(self) -> str:
        return f"{self.variable}_VERSION"

    @property
    def deployment_variable(self) -> str:
        return self.variable.removesuffix("_MODEL") + "_DEPLOYMENT"

    @property
    def capacity_variable(self) -> str:
        return f"{self.deployment_variable}_CAPACITY"


CHAT = Purpose(
    "chat",
    "responses",
    "the Responses API",
    "AZURE_OPENAI_CHAT_MODEL",
    "AZURE_OPENAI_CHAT_DEPLOYMENT_SKU",
    "chat",
)
EMBEDDINGS = Purpose(
    "embedding",
    "embeddings",
    "embeddings",
    "AZURE_OPENAI_EMBEDDING_MODEL",
    "AZURE_OPENAI_EMBEDDING_DEPLOYMENT_SKU",
    "embedding",
)


@dataclass(frozen=True)
class Ask:
    """What the person running `azd up` asks for: SKU and capacity, and a model if they set one.
    `quota` is the region's free capacity by usage name (None: not checked); `deployed` the
    environment's existing deployment for this purpose, if any."""

    sku: str
    capacity: int
    wanted: str = ""
    wanted_version: str = ""
    quota: Mapping[str, int] | None = None
    deployed: Deployed | None = None

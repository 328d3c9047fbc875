"""Regions near a region, to say where quota is free when the chosen region has none. Distances
between Azure regions do not change, so a table does; a region missing here gets no suggestion."""

from __future__ import annotations

# Each region's nearest Azure OpenAI regions, nearest first (within its geography first).
NEARBY: dict[str, tuple[str, ...]] = {
    "swedencentral": ("norwayeast", "germanywestcentral", "polandcentral"),
    "norwayeast": ("swedencentral", "germanywestcentral", "westeurope"),
    "westeurope": ("francecentral", "germanywestcentral", "uksouth"),
    "northeurope": ("uksouth", "westeurope", "francecentral"),
    "francecentral": ("westeurope", "switzerlandnorth", "germanywestcentral"),
    "germanywestcentral": ("westeurope", "switzerlandnorth", "francecentral"),
    "switzerlandnorth": ("germanywestcentral", "francecentral", "italynorth"),
    "uksouth": ("westeurope", "francecentral", "northeurope"),
    "polandcentral": ("germanywestcentral", "swedencentral", "westeurope"),
    "italynorth": ("switzerlandnorth", "francecentral", "germanywestcentral"),
    "spaincentral": ("francecentral", "westeurope", "italynorth"),
    "eastus": ("eastus2", "northcentralus", "canadaeast"),
    "eastus2": ("eastus", "northcentralus", "southcentralus"),
    "northcentralus": ("eastus", "eastus2", "southcentralus"),
    "southcentralus": ("eastus2", "westus3", "northcentralus"),
    "westus": ("westus3", "southcentralus", "northcentralus"),
    "westus3": ("westus", "southcentralus", "eastus2"),
    "canadaeast": ("eastus", "eastus2", "northcentralus"),
    "brazilsouth": ("southcentralus", "eastus2", "eastus"),
    "japaneast": ("koreacentral", "australiaeast", "southindia"),
    "koreacentral": ("japaneast", "australiaeast", "southindia"),
    "australiaeast": ("japaneast", "koreacentral", "southindia"),
    "southindia": ("japaneast", "koreacentral", "australiaeast"),
}


def nearby(region: str) -> tuple[str, ...]:
    return NEARBY.get(region.lower(), ())

"""What the hook reads from (and the one thing it may change in) the Azure management API, for
one subscription: the region's models and quota (usages), the deployments the environment's
account already has, soft-deleted accounts (and purging one), and the subscription's search
services. Cognitive Services through its management SDK; search services with a plain ARM GET,
the one list the hook needs from that provider."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceNotFoundError
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
from azure.core.rest import HttpRequest

from scripts.choose_models.catalog import Deployed, Offer, from_models

PUBLIC_RESOURCE_MANAGER = "https://management.azure.com"
SEARCH_API_VERSION = "2025-05-01"
# Account kinds the hook looks for in the environment's group (infra/ deploys AIServices).
OPENAI_KINDS = ("aiservices", "openai")
_DELETED_ID = re.compile(
    r"/locations/(?P<location>[^/]+)/resourceGroups/(?P<group>[^/]+)/deletedAccounts/(?P<name>[^/]+)$",
    re.IGNORECASE,
)
_GROUP_IN_ID = re.compile(r"/resourceGroups/(?P<group>[^/]+)/", re.IGNORECASE)


@dataclass(frozen=True)
class DeletedAccount:
    """A soft-deleted Cognitive Services account, which holds its name until purged."""

    name: str
    location: str
    resource_group: str


@dataclass(frozen=True)
class SearchService:
    name: str
    resource_group: str
    sku: str


class Subscription:
    """The management API of one subscription, signed in with `credential`."""

    def __init__(
        self,
        credential: TokenCredential,
        subscription_id: str,
        *,
        resource_manager: str = PUBLIC_RESOURCE_MANAGER,
    ) -> None:
        from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

        self.base = resource_manager.rstrip("/")
        self.subscription_id = subscription_id
        scope = f"{self.base}/.default"
        self.cognitive = CognitiveServicesManagementClient(
            credential, subscription_id, base_url=self.base, credential_scopes=[scope]
        )
        self.arm: PipelineClient[HttpRequest, Any] = PipelineClient(
            self.base, policies=[RetryPolicy(), BearerTokenCredentialPolicy(credential, scope)]
        )

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cognitive.close()
        self.arm.close()

    def offers(self, location: str) -> list[Offer]:
        """Every OpenAI-format model version offered in `location`, once each."""
        return from_models(self.cognitive.models.list(location))

    def free_quota(self, location: str) -> dict[str, int]:
        """Usage name to the capacity still free in `location` (limit minus what is in use)."""
        return {
            usage.name.value: int((usage.limit or 0) - (usage.current_value or 0))
            for usage in self.cognitive.usages.list(location)
            if usage.name is not None and usage.name.value
        }

    def deployments(self, resource_group: str) -> dict[str, Deployed]:
        """The deployments of the Azure OpenAI account in `resource_group`, by deployment name;
        empty when the group or the account does not exist yet (a new environment)."""
        try:
            accounts = [
                account
                for account in self.cognitive.accounts.list_by_resource_group(resource_group)
                if (account.kind or "").lower() in OPENAI_KINDS and account.name
            ]
        except ResourceNotFoundError:
            return {}
        found: dict[str, Deployed] = {}
        for account in accounts:
            for item in self.cognitive.deployments.list(resource_group, account.name):
                deployed = _deployed(item)
                if deployed is not None:
                    found.setdefault(deployed.name, deployed)
        return found

    def deleted_accounts(self) -> list[DeletedAccount]:
        found = []
        for account in self.cognitive.deleted_accounts.list():
            match = _DELETED_ID.search(account.id or "")
            if match is not None:
                found.append(DeletedAccount(match["name"], match["location"], match["group"]))
        return found

    def purge(self, account: DeletedAccount) -> None:
        self.cognitive.deleted_accounts.begin_purge(
            account.location, account.resource_group, account.name
        ).result()

    def search_services(self) -> list[SearchService]:
        path = f"/subscriptions/{self.subscription_id}/providers/Microsoft.Search/searchServices"
        services = []
        for item in self._list(f"{self.base}{path}?api-version={SEARCH_API_VERSION}"):
            group = _GROUP_IN_ID.search(item.get("id", ""))
            services.append(
                SearchService(
                    item.get("name", ""),
                    group["group"] if group else "",
                    str(item.get("sku", {}).get("name", "")).lower(),
                )
            )
        return services

    def _list(self, url: str) -> Iterator[dict[str, Any]]:
        """The items of an ARM list, following `nextLink`."""
        next_url: str | None = url
        while next_url:
            response = self.arm.send_request(HttpRequest("GET", next_url))
            response.raise_for_status()
            page = response.json()
            yield from page.get("value", [])
            next_url = page.get("nextLink")


def _deployed(item: Any) -> Deployed | None:
    model = item.properties.model if item.properties is not None else None
    if model is None or not item.name or not model.name:
        return None
    sku = item.sku.name if item.sku is not None else ""
    capacity = item.sku.capacity if item.sku is not None and item.sku.capacity else 0
    return Deployed(item.name, model.name, model.version or "", sku or "", capacity)

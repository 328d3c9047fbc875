"""Microsoft Entra ID credentials for the Azure services the app calls keyless.

A failed sign-in (no managed identity, a wrong AZURE_CLIENT_ID, no local az/azd login) is
remembered for a while: `DefaultAzureCredential` tries a chain of sources, some of them slow to
give up, and walking it again on every request would add seconds to each failure. The failure is
logged once, with what to fix; later requests fail fast until the pause is over."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import ClientAuthenticationError

log = logging.getLogger(__name__)

FAILURE_PAUSE_SECONDS = 60.0
HINT = (
    "in Azure, check that the Function App has a managed identity and that AZURE_CLIENT_ID "
    "is that identity's client id; locally, sign in with `az login` or `azd auth login`, or "
    "set the service's API key"
)


def default_credential(client_id: str, service: str) -> RememberingCredential:
    """The app's Entra ID credential for one service: its managed identity in Azure (the
    user-assigned one AZURE_CLIENT_ID names), the developer's az or azd login locally."""
    from azure.identity.aio import DefaultAzureCredential

    return RememberingCredential(
        DefaultAzureCredential(managed_identity_client_id=client_id or None), service
    )


def token_provider(credential: RememberingCredential, scope: str) -> Callable[[], Awaitable[str]]:
    """Bearer tokens for `scope`, cached and refreshed before they expire; no token is the
    service being unavailable (503), not a failure of the app."""
    from azure.identity.aio import get_bearer_token_provider

    from chat_api import model_errors

    provide = get_bearer_token_provider(credential, scope)

    async def token() -> str:
        try:
            return await provide()
        except ClientAuthenticationError:
            raise model_errors.model_unavailable() from None

    return token


class RememberingCredential:
    """An async token credential that remembers a failure for `pause_seconds`."""

    def __init__(
        self,
        credential: Any,
        service: str,
        *,
        pause_seconds: float = FAILURE_PAUSE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credential = credential
        self._service = service
        self._pause = pause_seconds
        self._clock = clock
        self._failed_until = 0.0
        self._failing = False

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self._refuse_while_paused()
        try:
            token: AccessToken = await self._credential.get_token(*scopes, **kwargs)
        except ClientAuthenticationError as exc:
            raise self._failed(exc) from None
        self._failing = False
        return token

    async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self._refuse_while_paused()
        try:
            if hasattr(self._credential, "get_token_info"):
                info: AccessTokenInfo = await self._credential.get_token_info(
                    *scopes, options=options
                )
            else:
                token = await self._credential.get_token(*scopes)
                info = AccessTokenInfo(token.token, token.expires_on)
        except ClientAuthenticationError as exc:
            raise self._failed(exc) from None
        self._failing = False
        return info

    async def close(self) -> None:
        await self._credential.close()

    async def __aenter__(self) -> RememberingCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()

    def _refuse_while_paused(self) -> None:
        if self._failing and self._clock() < self._failed_until:
            raise ClientAuthenticationError(
                f"signing in to {self._service} failed recently; not retried yet"
            )

    def _failed(self, exc: ClientAuthenticationError) -> ClientAuthenticationError:
        if not self._failing:
            # The exception's own text can name internal endpoints: the class name is enough.
            log.error(
                "The app could not sign in to %s with Microsoft Entra ID (%s): %s. "
                "Retrying in %.0f s.",
                self._service,
                type(exc).__name__,
                HINT,
                self._pause,
            )
        self._failing = True
        self._failed_until = self._clock() + self._pause
        return ClientAuthenticationError(f"signing in to {self._service} failed")

"""Front Door mode: the app answers only requests that came through its own Azure Front Door.

Front Door adds `X-Azure-FDID` (its profile's id) to every request it forwards; a request
without the app's id came some other way (straight to `*.azurewebsites.net`, or through someone
else's Front Door, which shares the same service tag) and is refused with 403 before anything
else. Bicep's access restriction to the `AzureFrontDoor.Backend` service tag (with the same
header check) keeps most such traffic from reaching the app at all; this check is what holds
when the restriction is missing or changed. The client's address then comes from
`X-Azure-SocketIP`, which Front Door sets to the connection it accepted (`client.py`)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from chat_api import errors
from chat_api.errors import ChatError

FRONT_DOOR_ID_HEADER = "x-azure-fdid"


def front_door_refusal(headers: Mapping[str, str], front_door_id: str) -> ChatError | None:
    """403 `forbidden` unless the request carries the app's Front Door id (or no id is set)."""
    if not front_door_id:
        return None
    sent = (headers.get(FRONT_DOOR_ID_HEADER) or "").strip().lower()
    if hmac.compare_digest(sent.encode(), front_door_id.encode()):
        return None
    return errors.error(errors.Code.FORBIDDEN)

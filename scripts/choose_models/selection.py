"""Which offers a new deployment can use, and which one to take. No I/O: `choose` gets the
offers, the deployment SKU and the current time, and returns a `Choice` or raises `NoFit` with
a message for the person running `azd up`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from scripts.choose_models.catalog import Offer

# Statuses a new customer can deploy. "Stable" is the older name of GenerallyAvailable. Preview
# models may change or vanish; "Deprecating" ones take no new customers; "Deprecated" ones are
# retired; "Legacy" ones are superseded.
DEPLOYABLE = frozenset({"generallyavailable", "stable"})
CLOSED = "deprecating"
RETIRED = "deprecated"

# Chat: small GPT reasoning models first (gpt-5 and later, "-mini"), then the full-size ones,
# then the "-nano" ones, then o-series minis, then anything else that serves the Responses API.
# Within a tier the newest generation; of one model's versions, Azure's default, else the newest.
_GPT = re.compile(r"^gpt-(\d+(?:\.\d+)*)(?:-(mini|nano))?$")
_O_MINI = re.compile(r"^o\d+-mini$")
_GPT_TIERS = {"mini": 0, None: 1, "nano": 2}
FIRST_REASONING_GENERATION = (5,)

# Embeddings: the cheapest first. Changing the model later means refilling the search index (the
# vectors change), so the choice is kept in the azd environment once made.
EMBEDDING_PREFERENCE = (
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-embedding-ada-002",
)


@dataclass(frozen=True)
class Purpose:
    """What a deployment is for: the capability it needs and the azd variables that name it."""

    label: str
    capability: str
    serves: str
    variable: str
    sku_variable: str

    @property
    def version_variable(self) -> str:
        return f"{self.variable}_VERSION"


CHAT = Purpose(
    "chat",
    "responses",
    "the Responses API",
    "AZURE_OPENAI_CHAT_MODEL",
    "AZURE_OPENAI_CHAT_DEPLOYMENT_SKU",
)
EMBEDDINGS = Purpose(
    "embedding",
    "embeddings",
    "embeddings",
    "AZURE_OPENAI_EMBEDDING_MODEL",
    "AZURE_OPENAI_EMBEDDING_DEPLOYMENT_SKU",
)


@dataclass(frozen=True)
class Choice:
    """The model to deploy; `version` is set only when Azure's default version is not it."""

    purpose: Purpose
    offer: Offer
    version: str | None
    reason: str


class NoFit(Exception):
    """Nothing offered fits: the message says what the region offers and what to do."""


def problems(offer: Offer, purpose: Purpose, sku: str, now: datetime) -> list[str]:
    """Why a new deployment of `offer` for `purpose` as `sku` would fail; empty when it fits."""
    found = []
    status = offer.lifecycle.lower()
    if status == CLOSED:
        found.append("closed to new customers (Deprecating)")
    elif status == RETIRED:
        found.append("retired (Deprecated)")
    elif status not in DEPLOYABLE:
        found.append(f"not generally available ({offer.lifecycle or 'no lifecycle status'})")
    if offer.retires is not None and offer.retires <= now:
        found.append(f"retired on {offer.retires:%Y-%m-%d}")
    if purpose.capability not in offer.capabilities:
        found.append(f"does not serve {purpose.serves}")
    if sku not in offer.skus:
        found.append(
            f"not offered as {sku} (offered as: {', '.join(sorted(offer.skus)) or 'none'})"
        )
    else:
        ends = offer.skus[sku]
        if ends is not None and ends <= now:
            found.append(f"{sku} ended on {ends:%Y-%m-%d}")
    return found


def choose(
    offers: Sequence[Offer],
    purpose: Purpose,
    *,
    sku: str,
    location: str,
    now: datetime,
    wanted: str = "",
    wanted_version: str = "",
) -> Choice:
    """The model to deploy for `purpose`: the one asked for if it fits, else the preferred fit."""
    if wanted:
        return _check_wanted(offers, purpose, sku, location, now, wanted, wanted_version)
    fitting = [offer for offer in offers if not problems(offer, purpose, sku, now)]
    if not fitting:
        raise NoFit(_no_fit(offers, purpose, sku, location, now, f"No {purpose.label} model fits."))
    rank = chat_rank if purpose is CHAT else embedding_rank
    # min() keeps the first of equals: of one model's fitting versions, Azure's default version
    # wins, else the newest.
    best = min(sorted(fitting, key=_default_then_newest, reverse=True), key=rank)
    default = default_version([offer for offer in offers if offer.name == best.name])
    version = None if best == default else best.version
    return Choice(purpose, best, version, _why_chosen(best, purpose, sku, location))


def default_version(versions: Sequence[Offer]) -> Offer:
    """The version Azure deploys when none is given: the flagged default, else the newest."""
    flagged = [offer for offer in versions if offer.is_default_version]
    return flagged[0] if flagged else max(versions, key=version_order)


def version_order(offer: Offer) -> tuple[int, str]:
    """Versions are dates (2026-03-17) or counters (1, 2, 10): compare length, then text."""
    return (len(offer.version), offer.version)


def _default_then_newest(offer: Offer) -> tuple[bool, tuple[int, str]]:
    return (offer.is_default_version, version_order(offer))


def chat_rank(offer: Offer) -> tuple[int, tuple[int, ...]]:
    """Sort key, smallest first (see the preference above)."""
    match = _GPT.match(offer.name)
    generation = tuple(int(part) for part in match[1].split(".")) if match else ()
    if match and generation >= FIRST_REASONING_GENERATION:
        tier = _GPT_TIERS[match[2]]
    elif _O_MINI.match(offer.name):
        tier, generation = 3, ()
    else:
        tier, generation = 4, ()
    padded = (*generation, 0, 0, 0)[:3]  # gpt-5 is 5.0: gpt-5.4 is newer
    return (tier, tuple(-part for part in padded))


def embedding_rank(offer: Offer) -> tuple[int]:
    if offer.name in EMBEDDING_PREFERENCE:
        return (EMBEDDING_PREFERENCE.index(offer.name),)
    return (len(EMBEDDING_PREFERENCE),)


def _check_wanted(
    offers: Sequence[Offer],
    purpose: Purpose,
    sku: str,
    location: str,
    now: datetime,
    wanted: str,
    wanted_version: str,
) -> Choice:
    versions = [offer for offer in offers if offer.name == wanted]
    asked = f"{purpose.variable}={wanted}" + (
        f" ({purpose.version_variable}={wanted_version})" if wanted_version else ""
    )
    if not versions:
        raise NoFit(_no_fit(offers, purpose, sku, location, now, f"{asked}: not offered."))
    if wanted_version:
        target = next((offer for offer in versions if offer.version == wanted_version), None)
        if target is None:
            listed = ", ".join(sorted(offer.version for offer in versions))
            message = f"{asked}: version not offered (offered: {listed})."
            raise NoFit(_no_fit(offers, purpose, sku, location, now, message))
    else:
        target = default_version(versions)
    found = problems(target, purpose, sku, now)
    if found:
        message = f"{asked}: version {target.version} cannot be deployed: {'; '.join(found)}."
        raise NoFit(_no_fit(offers, purpose, sku, location, now, message))
    reason = f"{purpose.variable} is set (by you, or kept from an earlier run) and still fits"
    return Choice(purpose, target, None, f"{reason}: {_facts(target, sku, location)}")


def _why_chosen(offer: Offer, purpose: Purpose, sku: str, location: str) -> str:
    if purpose is CHAT:
        preference = (
            "the preferred fit: the newest small GPT reasoning model (gpt-5 or later, -mini), "
            "else a full-size one, -nano, an o-series mini, then any model that serves the "
            "Responses API"
        )
    else:
        preference = f"the preferred fit ({', '.join(EMBEDDING_PREFERENCE)}, then any other)"
    return f"{purpose.variable} is not set, so {preference}: {_facts(offer, sku, location)}"


def _facts(offer: Offer, sku: str, location: str) -> str:
    retires = f", retires {offer.retires:%Y-%m-%d}" if offer.retires is not None else ""
    return (
        f"{offer.lifecycle or 'available'}, {sku} in {location}, serves "
        f"{', '.join(sorted(offer.capabilities & {'responses', 'chatCompletion', 'embeddings'}))}"
        f"{retires}"
    )


def _no_fit(
    offers: Sequence[Offer],
    purpose: Purpose,
    sku: str,
    location: str,
    now: datetime,
    headline: str,
) -> str:
    relevant = sorted(
        (offer for offer in offers if purpose.capability in offer.capabilities),
        key=lambda offer: (offer.name, offer.version),
    )
    lines = [f"{headline} What {location} offers this subscription for {purpose.serves}:"]
    for offer in relevant:
        found = problems(offer, purpose, sku, now)
        lines.append(f"  {offer.name} {offer.version}: {'; '.join(found) if found else 'fits'}")
    if not relevant:
        lines.append(f"  no model that serves {purpose.serves}")
    lines += [
        "To choose another region for Azure OpenAI: azd env set AZURE_OPENAI_LOCATION <region>",
        f"To choose a model: azd env set {purpose.variable} <name>"
        f" (and {purpose.version_variable} <version>)",
        f"To choose another deployment type: azd env set {purpose.sku_variable} <sku>",
        "Then run azd up (or azd provision) again.",
    ]
    return "\n".join(lines)

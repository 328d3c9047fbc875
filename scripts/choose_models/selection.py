"""Which offers a deployment can use, and which one to take. No I/O: `choose` gets the offers,
what is asked for (SKU, capacity, a model if set), the region's free quota, the environment's
existing deployment and the current time, and returns a `Choice` or raises `NoFit` (or `NoQuota`)
with a message for the person running `azd up`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from scripts.choose_models.asks import CHAT, Ask, Purpose
from scripts.choose_models.catalog import Deployed, Offer
from scripts.choose_models.quota import capacity_note, free_text, grant, no_quota
from scripts.choose_models.ranking import (
    CHAT_PREFERENCE,
    EMBEDDING_PREFERENCE_TEXT,
    chat_rank,
    chat_tier,
    embedding_rank,
)

# Statuses a new customer can deploy. "Stable" is the older name of GenerallyAvailable. Preview
# models may change or vanish; "Deprecating" ones take no new customers (a deployment that already
# has one may keep it); "Deprecated" ones are retired; "Legacy" ones are superseded.
DEPLOYABLE = frozenset({"generallyavailable", "stable"})
CLOSED = "deprecating"
RETIRED = "deprecated"
CLOSED_PROBLEM = "closed to new customers (Deprecating)"


@dataclass(frozen=True)
class Choice:
    """The model to deploy; `version` is set only when Azure's default version is not it."""

    purpose: Purpose
    offer: Offer
    version: str | None
    reason: str
    capacity: int = 0
    """Capacity to deploy, in thousands of tokens per minute."""
    warning: str = ""


class NoFit(Exception):
    """Nothing offered fits: the message says what the region offers and what to do."""


class NoQuota(NoFit):
    """Models fit, but the subscription's quota in the region has no room for any of them."""


def problems(offer: Offer, purpose: Purpose, sku: str, now: datetime) -> list[str]:
    """Why a new deployment of `offer` for `purpose` as `sku` would fail; empty when it fits."""
    found = []
    status = offer.lifecycle.lower()
    if status == CLOSED:
        found.append(CLOSED_PROBLEM)
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
    offers: Sequence[Offer], purpose: Purpose, ask: Ask, *, location: str, now: datetime
) -> Choice:
    """The model to deploy for `purpose`: the one asked for (or already deployed) if it fits,
    else the preferred fit the subscription's quota has room for."""
    if ask.wanted or ask.deployed is not None:
        return _check_wanted(offers, purpose, ask, location, now)
    fitting = [offer for offer in offers if not problems(offer, purpose, ask.sku, now)]
    if not fitting:
        headline = f"No {purpose.label} model fits."
        raise NoFit(_failing(offers, purpose, ask.sku, location, now)(headline))
    rank = chat_rank if purpose is CHAT else embedding_rank
    # Sorted stably: by preference, and of one model's versions Azure's default first, else the
    # newest.
    ordered = sorted(sorted(fitting, key=_default_then_newest, reverse=True), key=rank)
    passed_over: list[str] = []
    for best in ordered:
        granted = grant(best, ask)
        if granted is None:
            passed_over.append(f"{best.name} ({free_text(best, ask)})")
            continue
        default = default_version([offer for offer in offers if offer.name == best.name])
        version = None if best == default else best.version
        reason = _why_chosen(best, purpose, ask, location, granted, passed_over)
        return Choice(purpose, best, version, reason, granted)
    raise NoQuota(no_quota(ordered, purpose, ask, location))


def default_version(versions: Sequence[Offer]) -> Offer:
    """The version Azure deploys when none is given: the flagged default, else the newest."""
    flagged = [offer for offer in versions if offer.is_default_version]
    return flagged[0] if flagged else max(versions, key=version_order)


def version_order(offer: Offer) -> tuple[int, str]:
    """Versions are dates (2026-03-17) or counters (1, 2, 10): compare length, then text."""
    return (len(offer.version), offer.version)


def _default_then_newest(offer: Offer) -> tuple[bool, tuple[int, str]]:
    return (offer.is_default_version, version_order(offer))


def _check_wanted(
    offers: Sequence[Offer], purpose: Purpose, ask: Ask, location: str, now: datetime
) -> Choice:
    """The model set in the environment, else the one the environment's deployment already runs:
    kept when it fits, and when it is only closed to new customers but already deployed."""
    kept = ask.deployed
    if kept is not None and ask.wanted not in ("", kept.model):
        kept = None
    wanted = ask.wanted or (kept.model if kept else "")
    wanted_version = ask.wanted_version or (kept.version if kept and not ask.wanted else "")
    versions = [offer for offer in offers if offer.name == wanted]
    asked = f"{purpose.variable}={wanted}" + (
        f" ({purpose.version_variable}={wanted_version})" if wanted_version else ""
    )
    if not ask.wanted:
        asked = f"{purpose.label.capitalize()} deployment {kept.name if kept else ''} runs {wanted}"
    sku, fail = ask.sku, _failing(offers, purpose, ask.sku, location, now)
    if not versions:
        raise NoFit(fail(f"{asked}: not offered."))
    default = default_version(versions)
    target = default
    if wanted_version:
        target = next((offer for offer in versions if offer.version == wanted_version), None)
        if target is None:
            listed = ", ".join(sorted(offer.version for offer in versions))
            raise NoFit(fail(f"{asked}: version not offered (offered: {listed})."))
    found = problems(target, purpose, sku, now)
    warning = ""
    if found == [CLOSED_PROBLEM] and kept is not None and kept.version in ("", target.version):
        found, warning = [], _closing_warning(target, purpose)
    if found:
        cannot = f"version {target.version} cannot be deployed: {'; '.join(found)}."
        raise NoFit(fail(f"{asked}: {cannot}{_new_deployment_hint(kept, purpose)}"))
    granted = grant(target, ask)
    if granted is None:
        raise NoQuota(no_quota([target], purpose, ask, location))
    if ask.wanted:
        reason = f"{purpose.variable} is set (by you, or kept from an earlier run) and still fits"
        version = None
    else:
        reason = f"the environment's {kept.name if kept else ''} deployment already runs it"
        version = None if target == default else target.version
    reason = f"{reason}: {_facts(target, sku, location)}{capacity_note(ask, granted)}"
    return Choice(purpose, target, version, reason, granted, warning)


def _new_deployment_hint(kept: Deployed | None, purpose: Purpose) -> str:
    if kept is None:
        return ""
    return (
        f" A deployment keeps its model: to deploy another, give it a new name "
        f"(azd env set {purpose.deployment_variable} {kept.name}-2)."
    )


def _closing_warning(offer: Offer, purpose: Purpose) -> str:
    retires = f"{offer.retires:%Y-%m-%d}" if offer.retires is not None else "a date not announced"
    return (
        f"{offer.name} {offer.version} is closed to new customers (Deprecating) and retires on "
        f"{retires}. This environment already has it, so it is kept; a new environment cannot "
        "deploy it. Before then, move to a model open to new customers in a new deployment: "
        f"azd env set {purpose.deployment_variable} {purpose.deployment}-2, "
        f'azd env set {purpose.variable} "", then azd provision (the hook chooses the model).'
    )


def _why_chosen(
    offer: Offer,
    purpose: Purpose,
    ask: Ask,
    location: str,
    granted: int,
    passed_over: Sequence[str],
) -> str:
    if purpose is CHAT:
        preference = f"{CHAT_PREFERENCE}. It is {chat_tier(offer)}"
    else:
        preference = EMBEDDING_PREFERENCE_TEXT
    skipped = f"; passed over for want of quota: {', '.join(passed_over)}" if passed_over else ""
    return (
        f"{purpose.variable} is not set, so {preference}: {_facts(offer, ask.sku, location)}"
        f"{capacity_note(ask, granted)}{skipped}"
    )


def _facts(offer: Offer, sku: str, location: str) -> str:
    retires = f", retires {offer.retires:%Y-%m-%d}" if offer.retires is not None else ""
    return (
        f"{offer.lifecycle or 'available'}, {sku} in {location}, serves "
        f"{', '.join(sorted(offer.capabilities & {'responses', 'chatCompletion', 'embeddings'}))}"
        f"{retires}"
    )


def _failing(
    offers: Sequence[Offer], purpose: Purpose, sku: str, location: str, now: datetime
) -> Callable[[str], str]:
    return lambda headline: _no_fit(offers, purpose, sku, location, now, headline)


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

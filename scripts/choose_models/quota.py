"""How much of the subscription's quota a deployment gets. Azure OpenAI quota is per subscription,
region, model and deployment SKU, in thousands of tokens per minute; the region's usages list says
what is in use of each limit, by the SKU's usage name (`OpenAI.GlobalStandard.gpt-5-mini`). No I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from scripts.choose_models.asks import Ask, Purpose
from scripts.choose_models.catalog import Offer

# The least capacity (thousands of tokens per minute) worth deploying: when the subscription's
# quota leaves less than the capacity asked for, the deployment gets what is free, down to this.
# 10 serves a few people chatting at once; below it the model answers 429 to the second question.
MIN_CAPACITY = 10


def grant(offer: Offer, ask: Ask) -> int | None:
    """The capacity a new deployment of `offer` gets within the quota: what was asked, else what
    is free down to MIN_CAPACITY; None when less is free. The environment's own deployment of
    the same model and SKU counts as free: redeploying it takes no new quota."""
    free = free_capacity(offer, ask)
    if free is None or free >= ask.capacity:
        return ask.capacity
    return free if free >= MIN_CAPACITY else None


def free_capacity(offer: Offer, ask: Ask) -> int | None:
    """Capacity free for `offer` as `ask.sku`; None when the usages list does not count it."""
    usage = offer.usage_names.get(ask.sku)
    if ask.quota is None or usage is None or usage not in ask.quota:
        return None
    free = ask.quota[usage]
    own = ask.deployed
    if own is not None and own.model == offer.name and own.sku == ask.sku:
        free += own.capacity
    return max(free, 0)


def free_text(offer: Offer, ask: Ask) -> str:
    free = free_capacity(offer, ask)
    return f"{free} free of the {ask.capacity} asked for, below the floor of {MIN_CAPACITY}"


def capacity_note(ask: Ask, granted: int) -> str:
    if ask.quota is None:
        return ""
    if granted < ask.capacity:
        return (
            f"; capacity lowered from {ask.capacity} to {granted} (thousand tokens per minute), "
            "what the subscription's quota leaves free"
        )
    return f"; quota has room for {granted} (thousand tokens per minute)"


def no_quota(candidates: Sequence[Offer], purpose: Purpose, ask: Ask, location: str) -> str:
    lines = [
        f"No {purpose.label} model fits the subscription's quota in {location}: {ask.sku} "
        f"capacity asked for: {ask.capacity} (thousand tokens per minute), floor {MIN_CAPACITY}."
    ]
    seen = set()
    for offer in candidates:
        if offer.name not in seen:
            seen.add(offer.name)
            lines.append(f"  {offer.name}: {free_capacity(offer, ask)} free")
    lines += [
        f"To deploy less: azd env set {purpose.capacity_variable} <n>",
        "To see the quota: az cognitiveservices usage list --location " + location,
        "To request more: the Azure AI Foundry portal, Quota (or the quota increase form "
        "linked from Microsoft's page 'Manage Azure OpenAI quota').",
    ]
    return "\n".join(lines)

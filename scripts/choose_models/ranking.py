"""The order in which the chooser prefers models, and how it explains a preference. No I/O.

Chat: the smallest, least expensive tier of a GPT reasoning model (gpt-5 or later) first, so the
app's default answers cost little: `-mini` and `-luna` (gpt-5.6 names its tiers `-sol`, `-terra`
and `-luna`, largest to smallest); then the middle tier (a model without a suffix, or `-terra`);
then the largest (`-sol`); then `-nano`; then o-series minis; then other GPT-5 variants; then
anything else that serves the Responses API. Within a tier the newest generation wins. A tier
name this table does not know sorts after the known ones, never first because of its spelling.
"""

from __future__ import annotations

import re

from scripts.choose_models.catalog import Offer

_GPT = re.compile(r"^gpt-(\d+(?:\.\d+)*)(?:-([a-z]+))?$")
_O_MINI = re.compile(r"^o\d+-mini$")
FIRST_REASONING_GENERATION = (5,)

# Suffix of a GPT reasoning model to (tier, how the reason names it).
GPT_TIERS: dict[str | None, tuple[int, str]] = {
    "mini": (0, "its small tier (-mini)"),
    "luna": (0, "its smallest, least expensive tier (-luna)"),
    None: (1, "its full-size model"),
    "terra": (1, "its middle tier (-terra)"),
    "sol": (2, "its largest tier (-sol)"),
    "nano": (3, "its smallest tier (-nano), which answers less well"),
}
O_SERIES_TIER = 4
OTHER_GPT_TIER = 5
ANY_OTHER_TIER = 6

# Embeddings: the cheapest first. Changing the model later means refilling the search index (the
# vectors change), so the choice is kept in the azd environment once made.
EMBEDDING_PREFERENCE = (
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-embedding-ada-002",
)

CHAT_PREFERENCE = (
    "the preferred fit: the smallest, least expensive tier of the newest GPT reasoning model "
    "(gpt-5 or later: -mini or -luna), else its middle tier (no suffix, -terra), its largest "
    "(-sol), -nano, an o-series mini, then any model that serves the Responses API"
)
EMBEDDING_PREFERENCE_TEXT = f"the preferred fit ({', '.join(EMBEDDING_PREFERENCE)}, then any other)"


def _generation(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def chat_rank(offer: Offer) -> tuple[int, tuple[int, ...]]:
    """Sort key, smallest first (see the module's docstring)."""
    match = _GPT.match(offer.name)
    if match and _generation(match[1]) >= FIRST_REASONING_GENERATION:
        generation = _generation(match[1])
        tier = GPT_TIERS.get(match[2], (OTHER_GPT_TIER, ""))[0]
    elif _O_MINI.match(offer.name):
        tier, generation = O_SERIES_TIER, ()
    else:
        tier, generation = ANY_OTHER_TIER, ()
    padded = (*generation, 0, 0, 0)[:3]  # gpt-5 is 5.0: gpt-5.4 is newer
    return (tier, tuple(-part for part in padded))


def embedding_rank(offer: Offer) -> tuple[int]:
    if offer.name in EMBEDDING_PREFERENCE:
        return (EMBEDDING_PREFERENCE.index(offer.name),)
    return (len(EMBEDDING_PREFERENCE),)


def chat_tier(offer: Offer) -> str:
    """What the chat model is within its family, for the reason printed with the choice."""
    match = _GPT.match(offer.name)
    if match and _generation(match[1]) >= FIRST_REASONING_GENERATION and match[2] in GPT_TIERS:
        return f"the gpt-{match[1]} family, {GPT_TIERS[match[2]][1]}"
    return "no known tier"

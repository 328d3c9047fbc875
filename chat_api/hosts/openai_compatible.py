"""OpenAI, Azure OpenAI (v1 endpoint, keyless or with a key) and any OpenAI-compatible server,
through the Responses API or Chat Completions (`Settings.model_api`). The answer is the hot
path: `answer_client.py` reads it straight off an aiohttp connection, with no SDK.

The calls off the hot path (the search query, embeddings) go through the OpenAI SDK and its typed
objects. The SDK is imported when the first of them is made, in a thread, so an app that only
chats never pays its import (about a third of a second at a cold start, and some 25 MB) and the
first answers of a cold process are not held up by it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from chat_api import errors, model_errors
from chat_api.events import End, Step, TextDelta
from chat_api.hosts import chat_completions, responses
from chat_api.hosts.answer_client import AnswerClient, ApiKey
from chat_api.hosts.model_events import unexpected
from chat_api.hosts.retries import sdk_call, with_retries
from chat_api.prompt import (
    QUERY_MAX_TOKENS,
    Prompt,
    build_query_messages,
    clean_query,
    keyword_query,
)
from chat_api.protocol import Message
from chat_api.settings import ModelApi, Settings, is_set
from chat_api.usage import report_model_usage

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.responses import ResponseInputParam

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
# A reasoning model's thinking counts against max_output_tokens: the search query gets room
# for a little of it, unless the model can be told not to think at all.
QUERY_THINKING_TOKENS = 256


class OpenAICompatibleHost:
    """A chat model reached through the OpenAI API shapes."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: ApiKey | None,
        model: str,
        embedding_model: str = "",
        api: ModelApi = "chat",
        model_name: str = "",
        reasoning: bool = False,
        reasoning_effort: str = "",
        reasoning_summary: bool = True,
        max_output_tokens: int = 1024,
        retry_seconds: float = 10.0,
        timeout_seconds: float = 60.0,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.embedding_model = embedding_model
        self.api = api
        # The model's own name (on Azure, `model` is the deployment's): it tells its family.
        self.model_name = model_name or model
        self.reasoning = reasoning
        self.base_url = base_url.rstrip("/")
        self._answers = AnswerClient(
            base_url=self.base_url,
            api_key=api_key,
            model=model,
            api=api,
            reasoning=reasoning,
            reasoning_effort=reasoning_effort,
            reasoning_summary=reasoning_summary,
            max_output_tokens=max_output_tokens,
            retry_seconds=retry_seconds,
            timeout_seconds=timeout_seconds,
        )
        self._api_key = api_key
        self._retry_seconds = retry_seconds
        self._timeout_seconds = timeout_seconds
        self._close_credential = close
        self._sdk: openai.AsyncOpenAI | None = None

    async def aclose(self) -> None:
        await self._answers.aclose()
        if self._sdk is not None:
            await self._sdk.close()
        if self._close_credential is not None:
            await self._close_credential()

    def stream_answer(self, prompt: Prompt) -> AsyncIterator[TextDelta | Step | End]:
        return self._answers.stream_answer(prompt)  # its generator, not a second one around it

    # ---- Calls off the hot path: typed SDK objects are fine here ------------------------------

    async def _client(self) -> openai.AsyncOpenAI:
        if self._sdk is None:
            # The SDK takes the better part of a second to import: in a thread, so that a cold
            # process's first answers go on streaming their steps meanwhile.
            await asyncio.to_thread(_import_sdk)
        if self._sdk is None:  # another answer may have made it while this one waited
            import httpx2
            import openai

            self._sdk = openai.AsyncOpenAI(
                api_key=self._api_key or "not-needed",
                base_url=self.base_url,
                max_retries=0,  # retried below, within the same budget as the answer
                http_client=openai.DefaultAioHttpClient(
                    timeout=httpx2.Timeout(self._timeout_seconds, connect=10.0)
                ),
            )
        return self._sdk

    async def complete(self, messages: list[dict[str, str]], *, max_tokens: int) -> str:
        """One small non-streamed call's text, at the least thinking the model allows and
        with a cap of `max_tokens` answer tokens (plus room to think, for a reasoning model)."""
        if self.api == "responses":
            return await self._respond(messages, max_tokens)
        if self.reasoning:
            effort, cap = self._least_thinking(max_tokens)
            options = chat_completions.limits(True, effort, cap, None)
        else:
            options = chat_completions.limits(False, "", max_tokens, 0.0)
        client = await self._client()
        response = await with_retries(
            lambda: sdk_call(
                client.chat.completions.create(
                    model=self.model,
                    messages=cast("list[ChatCompletionMessageParam]", messages),
                    stream=False,
                    **options,
                )
            ),
            self._retry_seconds,
        )
        report_model_usage(getattr(response, "usage", None), getattr(response, "model", ""))
        try:
            if not response.choices:
                return ""
            choice = response.choices[0]
            if choice.finish_reason == model_errors.UPSTREAM_CONTENT_FILTER:
                raise model_errors.content_filtered()
            content = choice.message.content or ""
        except (TypeError, AttributeError, IndexError):
            raise unexpected("completion") from None
        if type(content) is not str:
            raise unexpected("completion")
        return content

    def _least_thinking(self, max_tokens: int) -> tuple[str, int]:
        """The lowest effort this reasoning model takes, and a cap with room for its thinking."""
        effort = responses.lowest_effort(self.model_name)
        return effort, max_tokens + (0 if effort == "none" else QUERY_THINKING_TOKENS)

    async def _respond(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        instructions, conversation = responses.split_instructions(messages)
        if self.reasoning:
            effort, cap = self._least_thinking(max_tokens)
            options: dict[str, Any] = {"reasoning": {"effort": effort}}
        else:
            cap, options = max_tokens, {"temperature": 0.0}
        client = await self._client()
        response = await with_retries(
            lambda: sdk_call(
                client.responses.create(
                    model=self.model,
                    instructions=instructions,
                    # The same role/content messages as Chat Completions', which the
                    # Responses API takes as its input items.
                    input=cast("ResponseInputParam", conversation),
                    max_output_tokens=cap,
                    store=False,
                    stream=False,
                    **options,
                )
            ),
            self._retry_seconds,
        )
        from openai.types.responses import Response

        if not isinstance(response, Response):  # a stream: not what a stream=False call returns
            raise unexpected("a reply")
        report_model_usage(getattr(response, "usage", None), getattr(response, "model", ""))
        details = response.incomplete_details
        if details is not None and details.reason == model_errors.UPSTREAM_CONTENT_FILTER:
            raise model_errors.content_filtered()
        return response.output_text or ""

    async def generate_query(self, messages: list[Message]) -> str:
        question = messages[-1].content
        try:
            reply = await self.complete(build_query_messages(messages), max_tokens=QUERY_MAX_TOKENS)
        except errors.ChatError as error:
            if error.status not in (400, 502):
                raise
            # The model refused this small request (a parameter it does not take, a filter):
            # the question's keywords still make a fair query, and the answer can go on.
            log.warning("search query generation failed (%s); using keywords", error.code)
            return keyword_query(question)
        return clean_query(reply, question)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts or not self.embedding_model:
            return []
        client = await self._client()
        response = await with_retries(
            lambda: sdk_call(
                client.embeddings.create(
                    model=self.embedding_model, input=texts, encoding_format="float"
                )
            ),
            self._retry_seconds,
        )
        report_model_usage(getattr(response, "usage", None), getattr(response, "model", ""))
        try:
            vectors = [item.embedding for item in sorted(response.data, key=lambda i: i.index)]
        except (TypeError, AttributeError):
            raise unexpected("embeddings") from None
        if len(vectors) != len(texts) or not all(type(v) is list for v in vectors):
            raise unexpected("embeddings")
        return vectors


def _import_sdk() -> None:
    import httpx2  # noqa: F401
    import openai  # noqa: F401


def create_host(settings: Settings) -> OpenAICompatibleHost:
    if settings.model_host == "azure":
        return _azure_host(settings)
    return OpenAICompatibleHost(
        name="openai",
        base_url=settings.openai_base_url or OPENAI_BASE_URL,
        api_key=settings.openai_api_key.get_secret_value() or None,
        model=settings.openai_chat_model,
        embedding_model=settings.embedding_model,
        model_name=settings.openai_chat_model,
        **_model_options(settings),
    )


def _model_options(settings: Settings) -> dict[str, Any]:
    return {
        "api": settings.model_api,
        "reasoning": settings.reasoning_model,
        "reasoning_effort": settings.reasoning_effort,
        "reasoning_summary": settings.reasoning_summary,
        "max_output_tokens": settings.max_output_tokens,
        "retry_seconds": settings.model_retry_seconds,
        "timeout_seconds": settings.model_timeout_seconds,
    }


def _azure_host(settings: Settings) -> OpenAICompatibleHost:
    close: Callable[[], Awaitable[None]] | None = None
    api_key: ApiKey
    if is_set(settings.azure_openai_api_key):
        api_key = settings.azure_openai_api_key.get_secret_value()
    else:
        # Keyless: Microsoft Entra ID tokens from the app's managed identity (or the developer's
        # az/azd login locally), refreshed by the provider before they expire.
        from chat_api.credentials import default_credential, token_provider

        credential = default_credential(settings.azure_client_id, "Azure OpenAI")
        api_key = token_provider(credential, AZURE_SCOPE)
        close = credential.close
    return OpenAICompatibleHost(
        name="azure",
        base_url=f"{settings.azure_openai_endpoint}/openai/v1",
        api_key=api_key,
        model=settings.azure_openai_chat_deployment,
        embedding_model=settings.embedding_model,
        # What the deployment runs, when known: its name tells the model's family.
        model_name=settings.azure_openai_chat_model or settings.azure_openai_chat_deployment,
        close=close,
        **_model_options(settings),
    )

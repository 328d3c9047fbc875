"""Telemetry in Azure: the Functions host and the worker send it the OpenTelemetry way, the app's
identity may publish it, and the workbook's queries read what the app sends."""

from __future__ import annotations

import json
import re
from typing import cast

import pytest
from opentelemetry import metrics

from chat_api.telemetry.instruments import Instruments
from tests.infra.conftest import INFRA, ROOT

pytestmark = pytest.mark.infra

WORKBOOK = "Microsoft.Insights/workbooks"


def _settings(value):
    return {item["name"]: item["value"] for item in value}


class _NameRecorder:
    """A meter that only records the names of the instruments created on it."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def __getattr__(self, method: str):
        def create(name: str, **_: object) -> None:
            self.names.add(name)

        return create


def _metric_names() -> set[str]:
    meter = _NameRecorder()
    Instruments(cast(metrics.Meter, meter))  # records the names of what is created, as a Meter
    return meter.names


def _workbook_queries() -> list[str]:
    workbook = json.loads((INFRA / "modules" / "chat-workbook.json").read_text("utf-8"))
    return [item["content"]["query"] for item in workbook["items"] if item["type"] == 3]


def test_the_functions_host_sends_telemetry_the_opentelemetry_way():
    host = json.loads((ROOT / "host.json").read_text("utf-8"))

    assert host["telemetryMode"] == "OpenTelemetry"


def test_the_worker_takes_the_host_trace_and_the_app_alone_sets_up_the_exporter(module_of):
    api = module_of("api")
    platform = _settings(api.variables["platformSettings"])

    assert platform["PYTHON_ENABLE_OPENTELEMETRY"] == "true"
    # The worker's own Azure Monitor set-up would export everything a second time.
    assert "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY" not in platform
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" in platform


def test_the_workbook_reads_the_application_insights_of_the_deployment(module_of, main):
    workbook = module_of("workbook").resource(WORKBOOK)

    assert workbook.get("kind") == "shared"
    assert workbook.get("properties.category") == "workbook"
    source = module_of("workbook").accessor_path(workbook.get("properties.sourceId"))
    assert source == "applicationInsights.id"
    loaded = workbook.get("properties.serializedData")["function"]
    assert loaded["type"] == "load_text_content"
    assert loaded["parameters"]["file_path"] == "chat-workbook.json"
    params = main.modules["workbook"]["config"]["params"]
    assert (
        main.accessor_path(params["applicationInsightsName"])
        == "monitoring.outputs.applicationInsightsName"
    )


def test_the_workbook_shows_what_an_owner_asks_first():
    queries = "\n".join(_workbook_queries())

    assert "percentile(ttft_ms, 50), p95 = percentile(ttft_ms, 95)" in queries
    assert 'outcome = tostring(customDimensions["chat.outcome"])' in queries
    assert 'bin(timestamp, 1d), kind = tostring(customDimensions["gen_ai.token.type"])' in queries
    assert '"chat.upstream.throttled"' in queries
    assert '"chat.requests.refused"' in queries


def test_the_workbook_shows_answers_declines_and_ratings_per_day():
    (query,) = [q for q in _workbook_queries() if '"chat.answers.declined"' in q]

    assert '"chat.feedback"' in query
    assert 'customDimensions["chat.feedback.rating"]' in query
    assert "bin(timestamp, 1d)" in query


def test_no_workbook_query_reads_a_page_from_the_metrics():
    # A page's address has unbounded values: it is never a metric's attribute.
    assert all("page" not in query for query in _workbook_queries())


def _documented_queries() -> list[str]:
    text = (ROOT / "docs" / "observability.md").read_text("utf-8")
    return re.findall(r"```kusto\n(.*?)```", text, re.S)


@pytest.mark.parametrize("source", ["workbook", "docs/observability.md"])
def test_no_query_counts_the_kept_traces_as_if_they_were_all_the_answers(source):
    # Traces are sampled (in Application Insights by default): a row of `requests` stands for
    # `itemCount` answers. Metrics are never sampled.
    queries = _workbook_queries() if source == "workbook" else _documented_queries()
    assert queries
    counting_rows = [
        query
        for query in queries
        if query.lstrip().startswith("requests") and re.search(r"\bcount(if)?\(", query)
    ]
    assert counting_rows == []


def test_every_metric_the_workbook_reads_is_one_the_app_sends():
    sent = _metric_names()
    for query in _workbook_queries():
        for name in re.findall(r'name == "([^"]+)"', query):
            assert name in sent, f"the app sends no metric {name}"


def test_every_dimension_the_workbook_reads_is_one_the_app_sets():
    source = "".join(
        path.read_text("utf-8") for path in (ROOT / "chat_api" / "telemetry").glob("*.py")
    )
    for query in _workbook_queries():
        for key in re.findall(r'customDimensions\["([^"]+)"\]', query):
            assert f'"{key}"' in source, f"the app sets no attribute {key}"


def test_the_identity_may_publish_telemetry(module_of):
    roles = module_of("roles")
    assignment = next(
        r
        for r in roles.resources("Microsoft.Authorization/roleAssignments")
        if r.symbol == "appMonitoringMetricsPublisher"
    )

    assert roles.accessor_path(assignment.get("scope")) == "applicationInsights"
    assert "monitoringMetricsPublisher" in str(assignment.get("properties.roleDefinitionId"))

"""The Markdown summary of one benchmark run, with ratios to the floor."""

from __future__ import annotations

from typing import Any


def _ratio(app: float | None, floor: float | None) -> str:
    if app is None or floor in (None, 0):
        return "-"
    return f"{app / floor:.2f}x"


def _added(app: float | None, floor: float | None) -> str:
    if app is None or floor is None:
        return "-"
    return f"{app - floor:+.1f} ms"


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    stand_in = results["stand_in"]
    out = [
        f"# Benchmark run {results['date']}",
        "",
        f"Machine: {machine['cpus']} CPUs, Python {machine['python']}, {machine['platform']}. "
        f"Stand-in model: first chunk after {stand_in['first_token_ms']:.0f} ms, "
        f"{stand_in['chunks']} chunks {stand_in['chunk_gap_ms']:.0f} ms apart. "
        "One app process; the load generator on the same machine.",
        "",
    ]
    titles = {
        "streaming": "streaming (Chat Completions)",
        "telemetry on": "streaming (Chat Completions), telemetry on",
        "responses": "streaming (Responses API)",
        "thinking": "streaming (Responses API, a reasoning model's thinking as steps)",
    }
    for mode in ("streaming", "telemetry on", "responses", "thinking", "streaming off", "offline"):
        rows = results.get(mode)
        if not rows:
            continue
        out += [
            f"## {titles.get(mode, mode)}",
            "",
            "| scenario | first line p50 ms (floor) | added, ratio | first word p50 ms (floor) "
            "| added | gap p99 ms (floor) | added "
            "| CPU ms/answer (floor) | ratio | peak MB | KB per open stream | errors |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            f, a = row["floor"], row["app"]
            out.append(
                f"| {row['scenario']} "
                f"| {a['first_line_p50_ms']} ({f['first_line_p50_ms']}) "
                f"| {_added(a['first_line_p50_ms'], f['first_line_p50_ms'])}, "
                f"{_ratio(a['first_line_p50_ms'], f['first_line_p50_ms'])} "
                f"| {a['first_word_p50_ms']} ({f['first_word_p50_ms']}) "
                f"| {_added(a['first_word_p50_ms'], f['first_word_p50_ms'])} "
                f"| {a['gap_p99_ms']} ({f['gap_p99_ms']}) "
                f"| {_added(a['gap_p99_ms'], f['gap_p99_ms'])} "
                f"| {a['cpu_ms_per_stream']} ({f['cpu_ms_per_stream']}) "
                f"| {_ratio(a['cpu_ms_per_stream'], f['cpu_ms_per_stream'])} "
                f"| {a['peak_rss_mb']} | {a['peak_kb_per_open_stream']} "
                f"| {a['errors']}/{a['streams']} |"
            )
        out.append("")
    cold = results.get("cold_import")
    if cold:
        out += [
            "## Cold import",
            "",
            f"`import function_app`: {cold['function_app_ms']} ms; a bare Functions app with the "
            f"HTTP streaming extension: {cold['bare_ms']} ms; ratio {cold['ratio']}.",
            "",
        ]
    cost = results.get("telemetry_cost")
    if cost:
        out += [
            "## Telemetry",
            "",
            "Every answer traced and measured, exported over OTLP/HTTP to a local sink, against "
            "telemetry off (target: at most 0.5 ms more CPU per streamed answer).",
            "",
            "| scenario | CPU ms/answer off | on | added |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {r['scenario']} | {r['cpu_ms_off']} | {r['cpu_ms_on']} | {r['added_ms']:+.3f} ms |"
            for r in cost
        ]
        on = results.get("cold_import_telemetry_on")
        if on:
            out.append(
                f"\nCold import with telemetry on (exporters set up at load): "
                f"{on['function_app_ms']} ms; with it off, the figure above."
            )
        out.append("")
    soak = results.get("soak")
    if soak:
        out += [
            "## Soak",
            "",
            f"{soak['streams']} streams at {soak['concurrency']} concurrent in "
            f"{soak['seconds']} s: {soak['errors']} errors; memory after warm-up "
            f"{soak['rss_after_warmup_mb']} MB, at the end {soak['rss_end_mb']} MB "
            f"({soak['growth_percent']:+.1f}%).",
            "",
        ]
    return "\n".join(out)


def telemetry_cost(results: dict[str, Any]) -> list[dict[str, Any]]:
    """CPU per streamed answer with telemetry on minus off, per scenario both modes ran."""
    off = {row["scenario"]: row["app"] for row in results.get("streaming", [])}
    rows = []
    for row in results.get("telemetry on", []):
        if row["scenario"] in off:
            before = off[row["scenario"]]["cpu_ms_per_stream"]
            after = row["app"]["cpu_ms_per_stream"]
            rows.append(
                {
                    "scenario": row["scenario"],
                    "cpu_ms_off": before,
                    "cpu_ms_on": after,
                    "added_ms": round(after - before, 3),
                }
            )
    return rows

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
        "responses": "streaming (Responses API)",
        "thinking": "streaming (Responses API, a reasoning model's thinking as steps)",
    }
    for mode in ("streaming", "responses", "thinking", "streaming off", "offline"):
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
    cpu, flood = results.get("limits_cpu"), results.get("limits_flood")
    if cpu and flood:
        out += [
            "## Limits for a public endpoint",
            "",
            f"CPU per streamed answer (100 concurrent): {cpu['cpu_ms_per_answer_off']} ms with "
            f"the limits off, {cpu['cpu_ms_per_answer_on']} ms with them on (in-process "
            f"counters): {cpu['added_ms']:+.3f} ms.",
            "",
            f"One client asking at ten times its per-minute limit ({flood['flood_requests']} "
            f"requests, {flood['flood_refused_429']} refused with 429) while 50 others stream: "
            f"their first line p50 {flood['others_first_line_p50_ms_flood']} ms, against "
            f"{flood['others_first_line_p50_ms_quiet']} ms without the flood "
            f"({flood['added_ms']:+.1f} ms); {flood['others_errors']} errors.",
            "",
        ]
    cold = results.get("cold_import")
    if cold:
        out += [
            "## Cold import",
            "",
            f"`import function_app`: {cold['function_app_ms']} ms; a bare Functions app with the "
            f"HTTP streaming extension: {cold['bare_ms']} ms; ratio {cold['ratio']}.",
            "",
        ]
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

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


RUNTIME_MODE = "streaming, Functions runtime"


def _side_by_side(devhost: list[Any] | None, runtime: list[Any] | None) -> list[str]:
    """The streaming scenarios under `make run` (devhost) and in the Functions Python runtime,
    from the same run."""
    if not devhost or not runtime:
        return []
    out = [
        "## devhost and the Functions runtime, side by side",
        "",
        "Runtime: the app in `azure-functions-runtime` (Python 3.13) behind the stand-in "
        "Functions host; CPU and memory are the worker process's, the stand-in host's CPU is "
        "in brackets (Azure's host is another program).",
        "",
        "| scenario | CPU ms/answer: devhost | runtime (host) | first line p50 ms: devhost "
        "| runtime | first word p50 ms: devhost | runtime | gap p99 ms: devhost | runtime "
        "| peak MB: devhost | runtime | errors: devhost | runtime |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for dev_row, rt_row in zip(devhost, runtime, strict=False):
        d, r = dev_row["app"], rt_row["app"]
        out.append(
            f"| {dev_row['scenario']} | {d['cpu_ms_per_stream']} "
            f"| {r['cpu_ms_per_stream']} ({r.get('front_cpu_ms_per_stream', '-')}) "
            f"| {d['first_line_p50_ms']} | {r['first_line_p50_ms']} "
            f"| {d['first_word_p50_ms']} | {r['first_word_p50_ms']} "
            f"| {d['gap_p99_ms']} | {r['gap_p99_ms']} "
            f"| {d['peak_rss_mb']} | {r['peak_rss_mb']} "
            f"| {d['errors']}/{d['streams']} | {r['errors']}/{r['streams']} |"
        )
    out.append("")
    return out


MODES = ("streaming", "responses", "thinking", "streaming off", "offline")
_TITLES = {
    "streaming": "streaming (Chat Completions)",
    "responses": "streaming (Responses API)",
    "thinking": "streaming (Responses API, a reasoning model's thinking as steps)",
}


def markdown(results: dict[str, Any]) -> str:
    """The run's summary: its machine, each mode against the floor, then the other figures."""
    out = _header(results)
    for mode in (*MODES, RUNTIME_MODE):
        out += _mode_table(_TITLES.get(mode, mode), results.get(mode))
    out += _limits(results.get("limits_cpu"), results.get("limits_flood"))
    out += _abuse(results.get("limits_abuse"))
    out += _side_by_side(results.get("streaming"), results.get(RUNTIME_MODE))
    out += _cold_import(results.get("cold_import"))
    out += _telemetry(results.get("telemetry"))
    for title, key in (("Soak", "soak"), ("Soak, Functions runtime", "soak, Functions runtime")):
        out += _soak(title, results.get(key))
    return "\n".join(out)


def _header(results: dict[str, Any]) -> list[str]:
    machine = results["machine"]
    stand_in = results["stand_in"]
    return [
        f"# Benchmark run {results['date']}",
        "",
        f"Machine: {machine['cpus']} CPUs, Python {machine['python']}, {machine['platform']}. "
        f"Stand-in model: first chunk after {stand_in['first_token_ms']:.0f} ms, "
        f"{stand_in['chunks']} chunks {stand_in['chunk_gap_ms']:.0f} ms apart. "
        "One app process; the load generator on the same machine.",
        "",
    ]


def _mode_table(title: str, rows: list[dict[str, Any]] | None) -> list[str]:
    """One mode's scenarios: the app's figures, the floor's in brackets, and what the app adds."""
    if not rows:
        return []
    out = [
        f"## {title}",
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
    return out


def _limits(cpu: dict[str, Any] | None, flood: dict[str, Any] | None) -> list[str]:
    if not cpu or not flood:
        return []
    return [
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


def _cold_import(cold: dict[str, Any] | None) -> list[str]:
    if not cold:
        return []
    return [
        "## Cold import",
        "",
        f"`import function_app`: {cold['function_app_ms']} ms; a bare Functions app with the "
        f"HTTP streaming extension: {cold['bare_ms']} ms; ratio {cold['ratio']}.",
        "",
    ]


def _telemetry(cost: dict[str, Any] | None) -> list[str]:
    if not cost:
        return []
    ((_, ms),) = cost["cpu_ms_per_answer"].items()
    return [
        "## Telemetry",
        "",
        f"CPU ms per streamed answer in one process, without HTTP ({cost['answers']} answers, "
        f"median of {cost['runs']} runs), exported over OTLP/HTTP to a local sink:",
        "",
        "| off | on, every answer traced | on, one trace in ten |",
        "|---|---|---|",
        f"| {ms['off']} | {ms['on']} ({ms['on'] - ms['off']:+.3f}) "
        f"| {ms['sampled']} ({ms['sampled'] - ms['off']:+.3f}) |",
        "",
    ]


def _soak(title: str, soak: dict[str, Any] | None) -> list[str]:
    out: list[str] = []
    if soak:
        out += [
            f"## {title}",
            "",
            f"{soak['streams']} streams at {soak['concurrency']} concurrent in "
            f"{soak['seconds']} s: {soak['errors']} errors; memory after warm-up "
            f"{soak['rss_after_warmup_mb']} MB, at the end {soak['rss_end_mb']} MB "
            f"({soak['growth_percent']:+.1f}%).",
            "",
        ]
    return out


def _abuse(abuse: dict[str, Any] | None) -> list[str]:
    if not abuse:
        return []
    out = [
        "Attacks on the limits (limits a hundredth of the defaults, a reasoning model, 50 other "
        "clients on 50 networks):",
        "",
        "| attack | attacker answered / refused | tokens charged | tokens the model served "
        "| others' first word p50 | others' errors |",
        "|---|---|---|---|---|---|",
    ]
    for name, title in (("think_then_leave", "think, then leave"), ("one_24", "one /24 draining")):
        a = abuse[name]
        out.append(
            f"| {title} | {a['attacker_answered']} / {a['attacker_refused_429']} "
            f"| {a['tokens_charged']} | {a['tokens_served']} "
            f"| {a['others_first_word_p50_ms']} ms | {a['others_errors']} |"
        )
    h = abuse["hanging_store"]
    out += [
        "",
        f"A store that hangs: others' first word p50 {h['others_first_word_p50_ms_hanging_store']}"
        f" ms, against {h['others_first_word_p50_ms_memory']} ms with counts in memory; "
        f"{h['others_errors']} errors.",
        "",
    ]
    return out

"""The results as Markdown tables (printed, written to latest.md, pasted into docs/benchmarks.md) and the goals."""

from __future__ import annotations

from typing import Any

LABELS = {
    "handler_only": "handler only (C)",
    "handler_only_2": "handler only (C), A/A twin",
    "ours_inline": "ours inline (C+D)",
    "ours_deferred": "ours deferred",
    "ours_deferred_now": "ours deferred start_now",
    "awslambdaric_inline": "awslambdaric inline",
    "event": "Event (async) inline",
}


def f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or value != value else f"{value:,.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def overhead_table(r: dict[str, Any]) -> str:
    invoke, loop = r["overhead"]["runtimes"], r["loop_only"]["runtimes"]
    rows = []
    for name in ("floor", "awslambdaric", "ours"):
        i, lo = invoke[name], loop[name]
        rows.append(
            [
                name,
                f(i["us_per_invocation"]["p50"], 0),
                f(i["invocations_per_s"], 0),
                f(i["client_ms"]["p99"], 2),
                f(i["duration_ms"]["p50"], 2),
                f"{i['ratio_to_awslambdaric']['p50']:.2f}x",
                f"{f(lo['us_per_invocation']['p50'], 0)} ({f(lo['us_per_invocation']['min'], 0)}-"
                f"{f(lo['us_per_invocation']['max'], 0)})",
                f(lo["invocations_per_s"], 0),
                f(lo["cycle_us"]["p99"], 0),
                f"{lo['ratio_to_awslambdaric']['p50']:.2f}x",
            ]
        )
    header = ["runtime", "Invoke API µs/inv", "inv/s", "client p99 ms", "record duration p50 ms", "vs ric"]
    header += ["loop-only µs/inv (min-max)", "inv/s", "cycle p99 µs", "vs ric"]
    note = "\n\nµs/inv: median over rounds; vs ric: median of per-round ratios to awslambdaric."
    return table(header, rows) + note


def latency_tables(r: dict[str, Any]) -> str:
    configs = r["latency"]["configs"]
    rows = []
    for key, c in configs.items():
        m = c["modes"]
        rows.append(
            [
                key.replace("/", " D="),
                *(f(m[mode]["client_ms"]["p50"]) for mode in ("handler_only", "ours_inline", "ours_deferred")),
                f(m["ours_deferred_now"]["client_ms"]["p50"]),
                f"**{f(c['saved_ms'])}** ({c['saved_over_d']:.0%} of D)",
                f"{f(c['d_measured_ms'])} ({c['saved_over_d_measured']:.0%})",
                f"{c['deferred_minus_handler_only_ms']:+.2f} (A/A {c['aa_handler_only_ms']:+.2f})",
                " / ".join(f(m[mode]["billed_ms"]["p50"], 0) for mode in ("ours_inline", "ours_deferred")),
                f(m["ours_deferred_now"]["billed_ms"]["p50"], 0),
                f"{f(c['event_to_202_ms'], 2)} / {f(c['event_completion_ms'])}",
            ]
        )
    header = ["kind", "handler-only p50", "inline p50", "deferred p50", "start_now p50", "saved (p50)"]
    header += ["D measured (saved/it)"]
    header += [
        "deferred - handler-only (A/A twin)",
        "billed inline / deferred",
        "billed start_now",
        "Event: 202 / done",
    ]
    detail = []
    for key, c in configs.items():
        for mode, s in c["modes"].items():
            detail.append(
                [
                    key.replace("/", " D="),
                    LABELS[mode],
                    f(s["client_ms"]["p50"], 2),
                    f(s["client_ms"]["p99"], 2),
                    f(s["response_ms"]["p50"], 2),
                    f(s["billed_ms"]["p50"], 0),
                    f(s["after_response_ms"]["p50"], 2),
                    str(s["client_ms"]["n"]),
                ]
            )
    detail_header = ["config", "mode", "client p50", "client p99", "answered p50 (records)", "billed p50"]
    detail_header += ["answer → /next p50", "n"]
    return table(header, rows) + "\n\nPer mode (ms):\n\n" + table(detail_header, detail)


def cold_table(r: dict[str, Any]) -> str:
    c = r["cold_start"]
    imports = {"ours": c["import_ours_beyond_requests_ms"], "awslambdaric": c["import_awslambdaric_ms"]}
    rows = [
        [
            name,
            f(s["init_ms"]["p50"]),
            f(s["init_ms"]["p99"]),
            f(s["client_ms"]["p50"]),
            f(s["max_memory_used_mb"]["p50"], 0),
            f(r["overhead"]["runtimes"][name]["max_memory_used_mb"], 0),
            f(imports[name]["p50"]),
        ]
        for name, s in c["runtimes"].items()
    ]
    header = ["runtime", "init p50 ms", "init p99 ms", "first invoke (client) ms", "peak RSS MB (first)"]
    header += ["peak RSS MB (after overhead run)", "import ms"]
    breakdown = ", ".join(f"{k} {v:.1f}" for k, v in c["import_breakdown_ms"].items() if k != "total")
    return (
        table(header, rows)
        + f"\n\n`import requests`: {f(c['import_requests_ms']['p50'])} ms; ours beyond it: "
        + f"{f(imports['ours']['p50'])} ms (import ms for ours = beyond `requests`). "
        + f"`-X importtime` split (inflated): {breakdown} (total {c['import_breakdown_ms']['total']:.1f})."
    )


def jobs_table(r: dict[str, Any]) -> str:
    j = r["jobs"]
    rows = [
        [
            c["kind"],
            str(c["k"]),
            f(c["billed_ms"]["p50"], 0),
            f(c["after_response_ms"]["p50"]),
            f(c["after_response_per_wave_ms"]),
            f(c["ideal_after_response_ms"], 0),
            f(c["client_ms"]["p50"], 2),
        ]
        for c in j["configs"].values()
    ]
    header = ["kind", "k", "billed p50 ms", "answer → /next p50 ms", "per job (cpu) / per wave of 4 (io)"]
    header += ["nominal ms", "client p50 ms"]
    return table(header, rows) + (
        f"\n\n{j['job_ms']} ms (nominal) per job; pool: {j['pool_workers']} workers (the default). Nominal: "
        "k x 10 ms (CPU: the GIL runs one job at a time), ceil(k/4) x 10 ms (I/O: 4 workers overlap)."
    )


def defer_table(r: dict[str, Any]) -> str:
    d = r["defer"]
    rows = [
        [
            label,
            f(d[key]["defer_call_us"]["p50"], 2),
            f(d[key]["defer_call_us"]["p99"], 2),
            f(d[key]["release_join_per_job_us"]["p50"], 2),
        ]
        for label, key in (("default start", "default_start"), ("start_now=True", "start_now"))
    ]
    return (
        table(["defer()", "µs per call p50", "p99", "release + join µs per job p50"], rows)
        + f"\n\nLoop-only, no-op handler: {f(d['loop_no_defer_us'])} µs/invocation without defer, "
        + f"{f(d['loop_one_defer_us'])} µs with one deferred no-op job (+{f(d['loop_one_defer_extra_us'])} µs)."
    )


def render(r: dict[str, Any]) -> str:
    goal_rows = [[g["goal"], g["shown"], "met" if g["met"] else "**not met**"] for g in r["goals"]]
    note = (
        "\n\nLatency and billed goals: median of paired differences (the two modes invoked in the same round), "
        "pooled over all D of a kind; A/A = the same comparison between two identical handler-only processes "
        "(the noise floor)."
    )
    return "\n\n".join(
        [
            "### Goals\n\n" + table(["goal", "measured", ""], goal_rows) + note,
            "### Overhead (no-op handler)\n\n" + overhead_table(r),
            "### Latency saved (C = 5 ms, client latency in ms)\n\n" + latency_tables(r),
            "### Cold start\n\n" + cold_table(r),
            "### Jobs per invocation\n\n" + jobs_table(r),
            "### defer() cost\n\n" + defer_table(r),
        ]
    )

"""latest.png: where the saved latency comes from and what it costs, plus overhead, cold start and jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Patch

MODES = {
    "handler_only": ("handler only\n(C alone)", "#7f7f7f"),
    "ours_inline": ("ours inline\n(C + D)", "#d62728"),
    "ours_deferred": ("ours\ndeferred", "#2ca02c"),
    "ours_deferred_now": ("ours deferred\nstart_now", "#17becf"),
    "awslambdaric_inline": ("awslambdaric\ninline", "#ff7f0e"),
    "event": ("Event (async) inline\n(client: time to 202)", "#9467bd"),
}
KINDS = {"cpu": "CPU-bound (busy loop)", "io": "I/O-bound (sleep)"}


LABEL: dict[str, Any] = {
    "xytext": (0, 2),
    "textcoords": "offset points",
    "ha": "center",
    "va": "bottom",
    "fontsize": 7.5,
}


def _label_bars(ax: Axes, bars: Any, tops: list[float] | None = None) -> None:
    """The value of each bar above it (or above `tops`, e.g. the end of a p99 whisker)."""
    for i, bar in enumerate(bars):
        top = bar.get_y() + bar.get_height() if tops is None else max(tops[i], bar.get_height())
        ax.annotate(f"{bar.get_height():.0f}", (bar.get_x() + bar.get_width() / 2, top), **LABEL)


def _d_focus(configs: dict[str, Any], kind: str) -> str | None:
    keys = [k for k in configs if k.startswith(f"{kind}/")]
    return f"{kind}/50" if f"{kind}/50" in keys else (keys[-1] if keys else None)


def latency_vs_billed(ax: Axes, config: dict[str, Any], title: str) -> None:
    modes, x, width = config["modes"], np.arange(len(MODES)), 0.27
    series = [
        ("client_ms", "client latency p50 (whisker: p99)", None, 1.0),
        ("response_ms", "result ready: request → /response (records)", None, 0.5),
        ("billed_ms", "billed duration p50 (records)", "//", 0.25),
    ]
    handles = []
    for i, (field, label, hatch, alpha) in enumerate(series):
        p50 = [modes[m][field]["p50"] for m in MODES]
        p99 = [modes[m][field]["p99"] for m in MODES]
        style: dict[str, Any] = {"alpha": alpha, "hatch": hatch, "edgecolor": "black"}
        bars = ax.bar(x + (i - 1) * width, p50, width, color=[c for _, c in MODES.values()], linewidth=0.5, **style)
        handles.append(Patch(facecolor="#555555", label=label, **style))
        if field == "client_ms":
            whiskers = np.array([[0.0] * len(p50), np.subtract(p99, p50)])
            ax.errorbar(x + (i - 1) * width, p50, yerr=whiskers, fmt="none", ecolor="black", capsize=2, linewidth=0.8)
        _label_bars(ax, bars, p99 if field == "client_ms" else None)
    ax.set_xticks(x, [label for label, _ in MODES.values()], fontsize=8)
    ax.set_ylabel("ms")
    ax.set_title(title, fontsize=11)
    text = (
        f"saved, inline - deferred (p50): {config['saved_ms']:.1f} ms\n"
        f"= {config['saved_over_d']:.0%} of D; {config['saved_over_d_measured']:.0%} of D as measured "
        f"({config['d_measured_ms']:.1f} ms)\n"
        f"billed, deferred - inline (p50): {config['billed_deferred_minus_inline_ms']:+.0f} ms (not saved)"
    )
    ax.text(0.01, 0.98, text, transform=ax.transAxes, va="top", fontsize=9, bbox={"facecolor": "white", "alpha": 0.9})
    ax.legend(handles=handles, loc="upper right", fontsize=8)
    top = max(max(modes[m]["client_ms"]["p99"], modes[m]["billed_ms"]["p50"]) for m in MODES)
    ax.set_ylim(0, top * 1.6)


def cdf(ax: Axes, samples: dict[str, list[dict[str, Any]]], title: str) -> None:
    for mode, (label, color) in MODES.items():
        values = np.sort([s["client_ms"] for s in samples[mode]])
        fraction = np.arange(1, len(values) + 1) / len(values)
        ax.step(values, fraction, where="post", color=color, label=label.replace("\n", " "), linewidth=1.6)
    ax.set_xscale("log")
    ax.set_xlabel("client latency, ms (log scale)")
    ax.set_ylabel("fraction of invocations")
    ax.set_title(title, fontsize=11)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")


def saved_vs_d(ax: Axes, configs: dict[str, Any]) -> None:
    for kind, marker, style in (("cpu", "o", "-"), ("io", "s", "--")):
        rows = sorted(((c["d_ms"], c) for k, c in configs.items() if k.startswith(f"{kind}/")), key=lambda r: r[0])
        if not rows:
            continue
        d = [r[0] for r in rows]
        measured = [r[1]["d_measured_ms"] for r in rows]
        label = f"{KINDS[kind]}: D as measured (wide band)"
        ax.plot(d, measured, linestyle=style, color="#7f7f7f", linewidth=7, alpha=0.3, label=label)
        for field, mode in (("saved_ms", "ours_deferred"), ("saved_now_ms", "ours_deferred_now")):
            label = f"{KINDS[kind]}: {'deferred' if mode == 'ours_deferred' else 'deferred start_now'}"
            ax.plot(d, [r[1][field] for r in rows], marker=marker, linestyle=style, color=MODES[mode][1], label=label)
    top = max(c["d_ms"] for c in configs.values())
    ax.plot([0, top], [0, top], color="black", linestyle=":", label="saved = D (nominal)")
    ax.set_xlabel("deferrable work D, ms (nominal; CPU ms drift with the core's speed: see 'D as measured')")
    ax.set_ylabel("client latency saved vs inline (p50), ms")
    ax.set_title("Latency saved = the time D takes (D as measured = inline - handler-only, p50)", fontsize=11)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def jobs_chart(ax: Axes, jobs: dict[str, Any]) -> None:
    for kind, color in (("cpu", "#d62728"), ("io", "#1f77b4")):
        rows = [c for c in jobs["configs"].values() if c["kind"] == kind]
        k = [c["k"] for c in rows]
        ax.plot(k, [c["billed_ms"]["p50"] for c in rows], marker="o", color=color, label=f"{KINDS[kind]}: billed p50")
        after = [c["after_response_ms"]["p50"] for c in rows]
        ax.plot(k, after, marker=".", color=color, alpha=0.5, label=f"{kind}: response → /next p50")
        ideal = "k x 10 ms (GIL: one at a time)" if kind == "cpu" else "ceil(k/4) x 10 ms (4 workers overlap)"
        ax.plot(k, [c["ideal_after_response_ms"] for c in rows], linestyle=":", color=color, label=f"nominal: {ideal}")
        client = [c["client_ms"]["p50"] for c in rows]
        ax.plot(k, client, linestyle="--", color=color, alpha=0.6, label=f"{kind}: client latency p50")
    ax.set_xscale("log", base=2)
    counts = sorted({c["k"] for c in jobs["configs"].values()})
    ax.set_xticks(counts, [str(k) for k in counts])
    ax.set_xlabel(f"deferred jobs per invocation, {jobs['job_ms']} ms each")
    ax.set_ylabel("ms")
    ax.set_title(f"Jobs per invocation (pool of {jobs['pool_workers']}): billed time vs k", fontsize=11)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def overhead_chart(ax: Axes, results: dict[str, Any]) -> None:
    names, x, width = ["floor", "awslambdaric", "ours"], np.arange(3), 0.38
    invoke = [results["overhead"]["runtimes"][n]["us_per_invocation"]["p50"] for n in names]
    loop = [results["loop_only"]["runtimes"][n]["us_per_invocation"]["p50"] for n in names]
    _label_bars(ax, ax.bar(x - width / 2, invoke, width, label="through the emulator's Invoke API", color="#aec7e8"))
    _label_bars(ax, ax.bar(x + width / 2, loop, width, label="loop only (minimal Runtime API server)", color="#1f77b4"))
    ax.set_xticks(x, ["floor\n(http.client loop)", "awslambdaric", "ours"])
    ax.set_ylabel("µs per no-op invocation (p50 of rounds)")
    ratios = [results[s]["runtimes"]["ours"]["ratio_to_awslambdaric"]["p50"] for s in ("loop_only", "overhead")]
    title = f"No-op invocation: ours = {ratios[0]:.2f}x awslambdaric loop only, {ratios[1]:.2f}x through the emulator"
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8, loc="upper center")
    ax.set_ylim(0, max(invoke) * 1.3)


def cold_chart(ax: Axes, cold: dict[str, Any]) -> None:
    names, x, width = ["awslambdaric", "ours"], np.arange(2), 0.38
    init = [cold["runtimes"][n]["init_ms"]["p50"] for n in names]
    imports = [cold["import_awslambdaric_ms"]["p50"], cold["import_requests_ms"]["p50"]]
    beyond = cold["import_ours_beyond_requests_ms"]["p50"]
    _label_bars(ax, ax.bar(x - width / 2, init, width, label="init: process start → first /next (records)"))
    _label_bars(ax, ax.bar([width / 2], imports[:1], width, label="import: awslambdaric", color="#c5b0d5"))
    ax.bar([1 + width / 2], imports[1:], width, label="import: `import requests` (ours needs it)", color="#dbdb8d")
    ax.text(1 + width / 2, imports[1] / 2, f"requests\n{imports[1]:.0f}", ha="center", va="center", fontsize=8)
    _label_bars(
        ax, ax.bar([1 + width / 2], [beyond], width, bottom=[imports[1]], color="#9467bd", label="import: ours beyond")
    )
    rss = [cold["runtimes"][n]["max_memory_used_mb"]["p50"] for n in names]
    ax.set_xticks(x, [f"{n}\npeak RSS {r:.0f} MB" for n, r in zip(names, rss, strict=True)])
    ax.set_ylabel("ms (p50)")
    ax.set_title("Cold start and import time", fontsize=11)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.2)


def draw(results: dict[str, Any], path: Path) -> None:
    fig, axes = plt.subplots(4, 2, figsize=(17, 21), layout="constrained")
    lat = results["latency"]
    for col, kind in enumerate(("cpu", "io")):
        key = _d_focus(lat["configs"], kind)
        if key is None:
            axes[0, col].set_visible(False)
            axes[1, col].set_visible(False)
            continue
        d = key.split("/")[1]
        title = f"{KINDS[kind]}: C = {lat['critical_ms']} ms before the response, D = {d} ms deferrable"
        latency_vs_billed(axes[0, col], lat["configs"][key], title)
        cdf(axes[1, col], lat["samples"][key], f"Client latency CDF, {KINDS[kind]}, D = {d} ms")
    saved_vs_d(axes[2, 0], lat["configs"])
    jobs_chart(axes[2, 1], results["jobs"])
    overhead_chart(axes[3, 0], results)
    cold_chart(axes[3, 1], results["cold_start"])
    meta = results["meta"]
    fig.suptitle(
        f"lambda_runtime benchmarks ({meta['profile']['name']}, {meta['date']}, {meta['cpus_usable']} CPUs, "
        f"Python {meta['python'].split()[0]})\nDeferring moves work after the response: the caller waits less, "
        "the bill stays the same",
        fontsize=13,
    )
    fig.savefig(path, format="png", dpi=90)
    plt.close(fig)

"""A CI-sized soak: 2,000 invocations with deferred jobs, the same leak checks as the 100,000-invocation script."""

from __future__ import annotations

from benchmarks.soak import Sample, check, soak


def test_two_thousand_invocations_leak_nothing():
    samples = soak(invocations=2000, every=400)
    assert len(samples) == 5
    # Scaled from "< 5 MB over 100,000": the bound stays meaningful at 1/50 of the invocations.
    assert check(samples, max_rss_growth_mb=2.0) == []


def test_check_reports_growth_and_leaked_threads():
    samples = [Sample(100, 30.0, 6, 9), Sample(200, 36.0, 7, 9), Sample(300, 30.5, 6, 10)]
    assert check(samples, max_rss_growth_mb=5.0) == [
        "RSS grew 6.0 MB by invocation 200",
        "threads 6 -> 7 at invocation 200",
        "open fds 9 -> 10 at invocation 300",
    ]

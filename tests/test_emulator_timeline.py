"""The emulator's page (`/` → `/_emulator/`): the last invocations as a timeline per execution environment, with
their cold starts, answers, deferred jobs and their outcomes, `/next` and billed durations, updating live. Seen in a
real headless Chromium, screenshot included; its data (`/_emulator/invocations`) checked over HTTP too."""

from __future__ import annotations

import asyncio
import io
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from lambda_runtime.emulator import Emulator
from lambda_runtime.emulator.timeline import deferred_jobs
from tests import headless_chromium
from tests.headless_chromium import open_page
from tests.polling import wait_until

WIDTH, HEIGHT = 1280, 800


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("application/json")
        return json.loads(response.read())


def test_the_page_shows_a_new_invocation_live_in_a_real_browser(serve: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = serve("deferring.fail_and_succeed")
    first = emu.invoke({"dir": str(tmp_path)}).headers["X-Amzn-RequestId"]
    emu.wait_for_records(1)

    async def look() -> tuple[str, str, str, int, bytes]:
        async with open_page(emu.url + "/", WIDTH, HEIGHT) as page:  # "/" leads to the page
            before = await page.wait_for(f'tr[data-request-id="{first}"] .chip.success')
            assert before
            # The page is drawn: an invocation now must reach it without reloading.
            second = (await asyncio.to_thread(emu.invoke, {"dir": str(tmp_path)})).headers["X-Amzn-RequestId"]
            await page.wait_for(f'tr[data-request-id="{second}"] .chip.success')
            first_row = await page.wait_for(f'tr[data-request-id="{first}"]')
            second_row = await page.wait_for(f'tr[data-request-id="{second}"]')
            lanes = await page.wait_for(".lane")
            bars = int(
                await page.evaluate("document.querySelectorAll('.lane[data-environment=\"env 1\"] .bar').length")
            )
            return first_row, second_row, lanes, bars, await page.screenshot()

    first_row, second_row, lanes, bars, png = headless_chromium.run(look())
    first_record, second_record = emu.wait_for_records(2)
    cells = second_row.split("\t")
    assert second_record.request_id in cells and "success" in cells and "warm" in cells
    assert f"{second_record.billed_ms} ms" in cells  # billed, as the record says
    assert "1 ok" in second_row and "1 failed" in second_row and "exploding_job: failed" in second_row
    assert f"{first_record.init_ms:.0f} ms" in first_row.split("\t")  # the cold start, on the first one only
    assert lanes.startswith("env 1") and bars == 2
    (tmp_path / "timeline.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    colours = image.getcolors(maxcolors=WIDTH * HEIGHT)
    assert colours is not None
    background = max(colours)[0]
    assert len(colours) > 100  # text, chips, bars: not a blank or single-colour page
    assert background < 0.97 * WIDTH * HEIGHT


def test_the_data_has_each_invocation_with_its_environment_jobs_and_durations(
    serve: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = serve("deferring.fail_and_succeed", concurrency=2)
    emu.invoke({"dir": str(tmp_path)})
    (record,) = emu.wait_for_records(1)
    data = get_json(emu.url + "/_emulator/invocations")
    assert data["function_name"] == "function" and data["timeout_s"] == 3.0
    (shown,) = data["invocations"]
    assert shown["request_id"] == record.request_id and shown["environment"] == 1
    assert shown["cold_start_ms"] == record.init_ms and shown["billed_ms"] == record.billed_ms
    assert shown["received_at"] <= shown["delivered_at"] <= shown["responded_at"] <= shown["next_at"]
    assert shown["jobs"]["counts"]["ok"] == 1 and shown["jobs"]["counts"]["failed"] == 1
    assert shown["jobs"]["named"] == [{"name": "exploding_job", "outcome": "failed"}]
    with urllib.request.urlopen(emu.url + "/", timeout=30) as page:  # "/" leads to the page, which polls the data
        assert page.url == emu.url + "/_emulator/" and b'fetch("invocations"' in page.read()


def test_an_invocation_in_flight_shows_before_it_ends(serve: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = serve("deferring.hang", timeout=30)
    emu.invoke({"dir": str(tmp_path)}, invocation_type="Event")
    assert wait_until(lambda: (tmp_path / "hang_started").exists(), 60)  # answered, its job running
    try:
        data = get_json(emu.url + "/_emulator/invocations")
        (shown,) = data["invocations"]
        assert shown["status"] is None and shown["invocation_type"] == "Event"
        assert shown["responded_at"] is not None and shown["next_at"] is None
    finally:
        (tmp_path / "unhang").touch()
    emu.wait_for_records(1)


def test_job_outcomes_are_read_from_text_and_json_logs() -> None:
    text = [
        "[WARNING]\t2024-01-01T00:00:00.000Z\trid\tdeferred job 'thumbnail' overran its deadline after 900 ms; ...",
        '[ERROR]\t2024-01-01T00:00:00.000Z\trid\tdeferred job "o\'brien" failed\rTraceback (most recent call last):',
        "[INFO]\t2024-01-01T00:00:00.000Z\trid\tDeferred jobs: 2 ok, 1 failed, 1 timed out, 0 not started, "
        "0 rejected, 0 skipped; 12.5 ms after the response",
    ]
    assert deferred_jobs(text) == {
        "counts": {
            "ok": 2,
            "failed": 1,
            "timed_out": 1,
            "not_started": 0,
            "rejected": 0,
            "skipped": 0,
            "post_response_ms": 12.5,
        },
        "named": [{"name": "thumbnail", "outcome": "timed out"}, {"name": "o'brien", "outcome": "failed"}],
    }
    json_lines = ['{"level": "WARNING", "message": "Deferred jobs cut short by SIGTERM: mail, sms", "requestId": "r"}']
    assert deferred_jobs(json_lines) == {
        "counts": None,
        "named": [{"name": "mail", "outcome": "cut short"}, {"name": "sms", "outcome": "cut short"}],
    }
    assert deferred_jobs(["START RequestId: r Version: $LATEST", "[INFO]\tx\tr\thello"]) is None


def test_without_the_browser_ci_fails_instead_of_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(headless_chromium, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="make test"):
        headless_chromium.require_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        headless_chromium.require_chromium()


def test_other_methods_on_the_pages_paths_are_unknown_paths(serve: Callable[..., Emulator]) -> None:
    emu = serve("basic.echo")
    for path in ("/", "/_emulator/", "/_emulator/invocations"):
        request = urllib.request.Request(emu.url + path, data=b"Action=CreateRole", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 404, path

"""Fault injection (test hooks) against the real runtime, ``python -m lambda_runtime``, which retries
connection failures and 5xx with backoff: whatever fails, no event is lost and no recorded result replaced.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from lambda_runtime.emulator import Emulator
from tests.emulator_functions.harness import OURS, emulators, scripted


@pytest.fixture
def emulator() -> Iterator[Callable[..., Emulator]]:
    with emulators() as start:

        def ours(handler: str, **options: object) -> Emulator:
            options.setdefault("runtime_command", OURS)
            return start(handler, test_hooks=True, **options)

        yield ours


def echoed(emu: Emulator, faults: dict[str, str] | None = None, payload: object = None) -> str:
    """Invoke basic.echo; check the answer is the event's own; return the request id."""
    payload = {"n": 1} if payload is None else payload
    r = emu.invoke(payload, faults=faults)
    assert r.status_code == 200 and "X-Amz-Function-Error" not in r.headers, r.text
    request_id = r.headers["X-Amzn-RequestId"]
    assert r.json() == {"event": payload, "request_id": request_id}
    return request_id


@pytest.mark.parametrize("fault", ["500", "reset", "500*3", "reset*2", "stall:0.2"])
def test_next_faults_never_lose_the_event(emulator: Callable[..., Emulator], fault: str) -> None:
    emu = emulator("basic.echo")
    request_id = echoed(emu, {"next": fault})
    (record,) = emu.wait_for_records(1)
    assert record.request_id == request_id and record.status == "success"
    mode, _, times = fault.partition("*")
    assert record.extra["faults"] == [f"next:{mode.split(':')[0]}"] * int(times or 1)
    assert echoed(emu) != request_id  # the environment goes on serving
    assert emu.wait_for_records(2)[1].init_ms is None  # warm: the runtime outlived its retries


def test_an_event_survives_a_runtime_that_gives_up(emulator: Callable[..., Emulator]) -> None:
    env = {**os.environ, "LAMBDA_RUNTIME_RETRY_ATTEMPTS": "2"}
    emu = emulator("basic.echo", env=env, prestart=True)
    request_id = echoed(emu, {"next": "500*2"})  # the first runtime fails its two tries and exits
    (record,) = emu.wait_for_records(1)
    assert record.request_id == request_id
    assert record.extra["faults"] == ["next:500", "next:500"]
    assert record.init_ms is not None  # delivered to the second runtime, after its own cold start


@pytest.mark.parametrize("fault", ["500-once", "drop-mid-post", "500-after-record"])
def test_response_faults_record_the_result_once(emulator: Callable[..., Emulator], fault: str) -> None:
    emu = emulator("basic.echo")
    request_id = echoed(emu, {"response": fault}, payload={"big": "y" * 100_000})
    (record,) = emu.wait_for_records(1)
    assert record.request_id == request_id and record.status == "success"
    assert record.extra["faults"] == [f"response:{fault.removesuffix('-once')}"]
    echoed(emu)


def test_error_posts_get_the_response_faults_too(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.fail")
    for fault in ("500", "drop-mid-post"):
        r = emu.invoke({}, faults={"response": fault})
        assert r.headers["X-Amz-Function-Error"] == "Unhandled"
        assert r.json()["errorType"] == "ValueError"
    assert [r.status for r in emu.wait_for_records(2)] == ["error", "error"]


def test_a_recorded_result_is_never_replaced(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("unused", runtime_command=scripted("retry_different"))
    r = emu.invoke({}, faults={"response": "500-after-record"})
    assert r.json() == "first"
    assert "retry_different statuses 500 410" in emu.wait_for_output("retry_different statuses")


def test_global_faults_apply_until_cleared(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo")
    emu.inject_faults(next="reset", response="500")
    echoed(emu)
    echoed(emu)
    emu.inject_faults()
    echoed(emu)
    records = emu.wait_for_records(3)
    assert [r.extra.get("faults") for r in records] == [["next:reset", "response:500"]] * 2 + [None]


def test_a_faults_header_wins_over_global_faults(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo")
    emu.inject_faults(next="500")
    echoed(emu, {"response": "500"})
    assert emu.wait_for_records(1)[0].extra["faults"] == ["response:500"]


def test_faults_need_test_hooks_and_a_valid_spec(emulator: Callable[..., Emulator]) -> None:
    plain = Emulator("basic.echo", runtime_command=OURS)
    with pytest.raises(RuntimeError):
        plain.inject_faults(next="500")
    emu = emulator("basic.echo")
    for bad in ({"next": "404"}, {"next": "stall"}, {"response": "reset"}, {"later": "500"}, {"next": "500*0"}):
        r = emu.invoke({}, faults=bad)
        assert r.status_code == 400, bad
        assert r.headers["X-Amzn-ErrorType"] == "InvalidRequestContentException"
    with pytest.raises(ValueError):
        emu.inject_faults(response="drop")


def test_fault_headers_are_ignored_without_test_hooks() -> None:
    with emulators() as start:
        emu = start("basic.echo", runtime_command=OURS)
        echoed(emu, {"next": "reset"})
        assert "faults" not in emu.wait_for_records(1)[0].extra

"""Execution environments: up to ``concurrency`` runtimes started on demand, a bounded queue, 429 beyond."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime.emulator import Emulator
from lambda_runtime.emulator.cli import build_parser
from tests.emulator_functions.harness import OURS, emulators, scripted
from tests.polling import wait_until


@pytest.fixture
def emulator() -> Iterator[Callable[..., Emulator]]:
    with emulators() as start:
        yield start


def invoke_all(emu: Emulator, payloads: list[Any]) -> list[Any]:
    """Invoke with every payload at once, from threads; the responses in payload order."""
    results: list[Any] = [None] * len(payloads)

    def call(i: int) -> None:
        results[i] = emu.invoke(payloads[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.parametrize("runtime", ["ours", "official"])
def test_two_environments_serve_four_invocations_concurrently(
    emulator: Callable[..., Emulator], tmp_path: Path, runtime: str
) -> None:
    emu = emulator("pairs.handler", runtime_command=OURS if runtime == "ours" else None, concurrency=2)
    results = invoke_all(emu, [{"dir": str(tmp_path)}] * 4)
    for r in results:
        assert r.status_code == 200 and "X-Amz-Function-Error" not in r.headers, r.text
    bodies = [r.json() for r in results]
    # Markers 0+1 and 2+3 each waited for the other: two handlers ran at the same time, twice.
    assert sorted(b["index"] for b in bodies) == [0, 1, 2, 3]
    records = emu.wait_for_records(4)
    assert len({b["pid"] for b in bodies}) == len({r.runtime_pid for r in records}) == 2
    assert sum(r.init_ms is not None for r in records) == 2  # two cold starts, then warm reuse
    for pid in {r.runtime_pid for r in records}:
        first = next(r for r in records if r.runtime_pid == pid)
        assert first.init_ms is not None and first.init_ms > 0
    # Each environment has a Runtime API of its own.
    assert len({b["runtime_api"] for b in bodies}) == 2
    assert emu.runtime_api in {b["runtime_api"] for b in bodies}
    assert sorted(emu.runtime_pids()) == sorted({r.runtime_pid for r in records})  # type: ignore[type-var]


def test_environments_start_only_on_demand(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo", concurrency=3)
    for _ in range(3):
        assert emu.invoke({}).status_code == 200  # one at a time: the warm environment serves them all
    records = emu.wait_for_records(3)
    assert len({r.runtime_pid for r in records}) == 1
    assert [r.init_ms is not None for r in records] == [True, False, False]


def test_queue_overflow_is_a_429(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("unused", runtime_command=scripted("wait_file"), concurrency=1, queue_size=1)
    gate = tmp_path / "gate"
    assert emu.invoke({"file": str(gate), "n": 0}).status_code == 200  # answered; its runtime waits for the gate
    queued: list[Any] = []
    caller = threading.Thread(target=lambda: queued.append(emu.invoke({"file": str(gate), "n": 1})))
    caller.start()
    emu.wait_for_queued(1)
    client = emu.lambda_client()
    with pytest.raises(client.exceptions.TooManyRequestsException) as raised:
        client.invoke(FunctionName="function", Payload=b"{}")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert raised.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    gate.touch()
    caller.join(60)
    assert queued[0].status_code == 200 and queued[0].json()["event"]["n"] == 1  # the queued one was served
    assert len(emu.wait_for_records(2)) == 2  # the refused one never ran


def test_queue_size_zero_refuses_whenever_all_are_busy(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("unused", runtime_command=scripted("wait_file"), queue_size=0)
    gate = tmp_path / "gate"
    assert emu.invoke({"file": str(gate)}).status_code == 200
    assert emu.invoke({"file": str(gate)}).status_code == 429
    gate.touch()
    emu.wait_for_records(1)
    assert emu.invoke({"file": str(gate)}).status_code == 200


# -- scale-out, as Lambda: a sync invocation never waits for a busy environment ----------------------


def report_lines(emu: Emulator, request_id: str) -> list[str]:
    return [line for line in emu.invocation_output(request_id).splitlines() if line.startswith("REPORT")]


def test_a_busy_environment_makes_a_new_one_then_429(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("unused", runtime_command=scripted("wait_file"), concurrency=2, queue_size=0)
    gate = tmp_path / "gate"
    first = emu.invoke({"file": str(gate)})  # answered; its environment stays busy until the gate opens
    second = emu.invoke({"file": str(gate)})  # no idle environment: a second one starts (a cold start)
    assert first.status_code == second.status_code == 200
    client = emu.lambda_client()
    with pytest.raises(client.exceptions.TooManyRequestsException) as raised:
        client.invoke(FunctionName="function", Payload=b"{}")
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert response["Error"]["Message"] == "Rate Exceeded."
    assert response["retryAfterSeconds"]  # the Retry-After header, as botocore's model reads it
    assert emu.throttles() == 1
    gate.touch()
    records = emu.wait_for_records(2)
    assert sorted(r.environment for r in records) == [1, 2]  # type: ignore[type-var]
    assert all(r.init_ms is not None for r in records)  # each one a cold start, with its Init Duration
    for record in records:
        (report,) = report_lines(emu, record.request_id)
        assert f"\tEnvironment: {record.environment}" in report and "\tInit Duration: " in report
    warm = emu.invoke({"file": str(gate)})
    assert warm.status_code == 200
    third = emu.record(warm.headers["X-Amzn-RequestId"])
    assert third.environment in (1, 2) and third.init_ms is None


def test_boto3_retries_a_throttled_invocation(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("unused", runtime_command=scripted("wait_file"), concurrency=1, queue_size=0)
    gate = tmp_path / "gate"
    assert emu.invoke({"file": str(gate)}).status_code == 200

    def open_after_a_throttle() -> None:
        wait_until(lambda: emu.throttles() >= 1, 60)
        gate.touch()

    opener = threading.Thread(target=open_after_a_throttle)
    opener.start()
    client = emu.lambda_client(retries={"max_attempts": 10, "mode": "standard"})
    result = client.invoke(FunctionName="function", Payload=json.dumps({"file": str(gate)}))
    opener.join(60)
    assert result["StatusCode"] == 200 and emu.throttles() >= 1  # throttled first, then served on a retry


def test_idle_environments_are_reclaimed(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo", idle_timeout=0.2)
    assert emu.invoke({}).status_code == 200
    assert wait_until(lambda: not emu.runtime_pids(), timeout=30)
    assert emu.invoke({}).status_code == 200
    first, second = emu.wait_for_records(2)
    assert first.environment == 1 and second.environment == 2 and second.init_ms is not None


def test_the_cli_scales_out_by_default() -> None:
    args = build_parser().parse_args(["serve", "app.handler"])
    assert args.concurrency == 10 and args.queue_size == 0 and args.idle_timeout is None

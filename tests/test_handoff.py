"""Hand-off end to end: the runtime sends jobs to the emulator's async queue as signed Event invocations of the
function, and the receiving runtime runs only genuine envelopes of registered jobs."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime.emulator import Emulator
from lambda_runtime.handoff.envelope import new_envelope, seal

FUNCTIONS = Path(__file__).parent / "functions"
KEY = "k" * 16 + "test-signing-key-0123456789"
TINY = (0.01, 0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def handoff_emulator(tmp_path: Path) -> Iterator[Callable[..., Emulator]]:
    """An emulator serving tests/functions/handoff_fn.py whose runtime sends hand-offs back to it."""
    started: list[Emulator] = []

    def start(extra_env: dict[str, str] | None = None, **options: Any) -> Emulator:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # the emulator's role, not ours
        env.update(
            {
                "LAMBDA_RUNTIME_HANDOFF_KEY": KEY,
                "AWS_ENDPOINT_URL_LAMBDA": f"http://127.0.0.1:{port}",
                "AWS_LAMBDA_LOG_LEVEL": "INFO",
                **(extra_env or {}),
            }
        )
        options.setdefault("on_failure", str(tmp_path / f"failed-{port}.jsonl"))
        options.setdefault("on_success", str(tmp_path / f"ok-{port}.jsonl"))
        options.setdefault("retry_delays", TINY)
        emu = Emulator("handoff_fn.handler", task_root=str(FUNCTIONS), env=env, port=port, **options)
        started.append(emu.start())
        return emu

    try:
        yield start
    finally:
        for emu in reversed(started):
            emu.stop()


def runs(directory: Path, label: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob(f"{label}.*")) if not p.name.endswith(".tmp")]


def test_a_handed_off_job_runs_once_in_an_event_invocation_with_its_job_id(
    handoff_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = handoff_emulator()
    answer = emu.invoke({"dir": str(tmp_path), "hand_off": ["receipt"]}).json()
    (job_id,) = answer["job_ids"]
    (outcome,) = emu.wait_for_async_outcomes(1)
    assert outcome["requestContext"]["condition"] == "Success"
    assert outcome["responsePayload"]["handOff"] == {"job": "record", "jobId": job_id, "hop": 1, "result": "receipt"}
    (run,) = runs(tmp_path, "receipt")
    first = emu.records()[0]
    assert run["job_id"] == job_id and run["hop"] == 1 and run["origin"] == first.request_id
    output = emu.invocation_output(first.request_id)
    assert "Deferred jobs: 0 ok, 0 failed, 0 timed out, 0 not started, 0 rejected, 0 skipped; 1 handed off" in output


def test_a_saturated_pool_hands_off_what_it_cannot_take_and_every_job_completes(
    handoff_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    # One worker, two pending jobs at most: of six jobs deferred with the fallback, two run here, four go to the
    # queue. Nothing is rejected, nothing is lost.
    emu = handoff_emulator({"LAMBDA_RUNTIME_DEFER_WORKERS": "1", "LAMBDA_RUNTIME_DEFER_MAX_PENDING": "2"})
    labels = [f"job{n}" for n in range(6)]
    emu.invoke({"dir": str(tmp_path), "overflow": labels})
    outcomes = emu.wait_for_async_outcomes(4)
    assert {o["requestContext"]["condition"] for o in outcomes} == {"Success"}
    done = {label: runs(tmp_path, label) for label in labels}
    assert all(len(r) == 1 for r in done.values()), done
    local = [label for label, r in done.items() if r[0].get("local")]
    assert local == ["job0", "job1"]
    output = emu.invocation_output(emu.records()[0].request_id)
    assert (
        "2 ok, 0 failed, 0 timed out, 0 not started, 0 rejected, 0 skipped; 4 handed off, 0 hand-off failed" in output
    )


def test_jobs_that_find_no_worker_before_the_deadline_are_handed_off_not_cut(
    handoff_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    # The only worker is held until the deadline: the two jobs queued behind it would never start here.
    emu = handoff_emulator({"LAMBDA_RUNTIME_DEFER_WORKERS": "1"}, timeout=2.0)
    emu.invoke({"dir": str(tmp_path), "hold_worker": True, "overflow": ["late1", "late2"]})
    outcomes = emu.wait_for_async_outcomes(2)
    assert {o["requestContext"]["condition"] for o in outcomes} == {"Success"}
    assert [len(runs(tmp_path, label)) for label in ("late1", "late2")] == [1, 1]
    assert all("job_id" in runs(tmp_path, label)[0] for label in ("late1", "late2"))
    output = emu.invocation_output(emu.records()[0].request_id)
    assert "0 not started" in output and "2 handed off, 0 hand-off failed" in output


def test_a_hand_off_sent_before_the_response_survives_the_environment_dying_after_it(
    handoff_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = handoff_emulator()
    response = emu.invoke(
        {"dir": str(tmp_path), "hand_off": ["must-happen"], "before_response": True, "die_after_response": True}
    )
    (job_id,) = response.json()["job_ids"]
    first = emu.wait_for_records(1)[0]
    (outcome,) = emu.wait_for_async_outcomes(1)
    assert outcome["requestContext"]["condition"] == "Success"
    assert first.status == "crash"  # the environment died after answering
    (run,) = runs(tmp_path, "must-happen")
    assert run["job_id"] == job_id


def forged(directory: Path, *, key: str = KEY, job: str = "record", **changes: Any) -> bytes:
    fields: dict[str, Any] = {"function": "function", "hop": 1, "origin": "test", "now": time.time(), "ttl_s": 60.0}
    fields.update(changes)
    envelope = new_envelope(job, (str(directory), "forged"), {}, **fields)
    return seal(envelope, key)


def test_forged_expired_unknown_and_too_deep_envelopes_never_run(
    handoff_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = handoff_emulator(max_retry_attempts=0)
    genuine = json.loads(forged(tmp_path))
    tampered = json.loads(forged(tmp_path))
    tampered["lambda_runtime.hand_off"]["args"][1] = "tampered"
    bad = {
        "other key": forged(tmp_path, key="another-key-of-at-least-32-bytes!!"),
        "tampered": json.dumps(tampered).encode(),
        "expired": forged(tmp_path, now=time.time() - 120, ttl_s=60.0),
        "unknown job": forged(tmp_path, job="os.system"),
        "other function": forged(tmp_path, function="another-function"),
        "too deep": forged(tmp_path, hop=5),
        "unsigned": json.dumps({"lambda_runtime.hand_off": {**genuine["lambda_runtime.hand_off"], "sig": ""}}).encode(),
    }
    client = emu.lambda_client()
    for payload in bad.values():
        assert client.invoke(FunctionName="function", InvocationType="Event", Payload=payload)["StatusCode"] == 202
    outcomes = emu.wait_for_async_outcomes(len(bad))
    assert [o["requestContext"]["condition"] for o in outcomes] == ["RetriesExhausted"] * len(bad)
    assert {o["responsePayload"]["errorType"] for o in outcomes} == {"HandOff.Rejected"}
    messages = " | ".join(o["responsePayload"]["errorMessage"] for o in outcomes)
    for reason in (
        "another key",
        "forged or altered",
        "expired",
        "unregistered job 'os.system'",
        "for function",
        "beyond the limit of 4",
    ):
        assert reason in messages, messages
    assert runs(tmp_path, "forged") == [] and runs(tmp_path, "tampered") == []


def test_a_replayed_envelope_runs_once(handoff_emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = handoff_emulator(max_retry_attempts=0)
    payload = forged(tmp_path)
    client = emu.lambda_client()
    for _ in range(3):
        client.invoke(FunctionName="function", InvocationType="Event", Payload=payload)
    outcomes = emu.wait_for_async_outcomes(3)
    assert [o["requestContext"]["condition"] for o in outcomes] == ["Success", "RetriesExhausted", "RetriesExhausted"]
    assert all("replayed" in o["responsePayload"]["errorMessage"] for o in outcomes[1:])
    assert len(runs(tmp_path, "forged")) == 1


def test_an_envelope_reaches_the_handler_untouched_when_no_key_is_set(
    handoff_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = handoff_emulator({"LAMBDA_RUNTIME_HANDOFF_KEY": ""})
    envelope = json.loads(forged(tmp_path))
    response = emu.invoke(envelope)  # the handler gets it as any event: it has no "dir", so it fails with KeyError
    assert response.headers.get("X-Amz-Function-Error") == "Unhandled"
    assert response.json()["errorType"] == "KeyError" and runs(tmp_path, "forged") == []


def test_a_denied_hand_off_is_counted_and_reaches_the_error_hooks(
    handoff_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = handoff_emulator()
    emu.invoke({"dir": str(tmp_path), "hand_off": ["lost?"], "function": "not-served"})
    (record,) = emu.wait_for_records(1)
    output = emu.invocation_output(record.request_id)
    assert "0 handed off, 1 hand-off failed" in output
    assert "error hook: record: HandOffError:" in output and "AccessDeniedException" in output
    assert "is not authorized to perform: lambda:InvokeFunction" in output


def test_a_denied_hand_off_before_the_response_fails_the_handler(
    handoff_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = handoff_emulator()
    event = {"dir": str(tmp_path), "hand_off": ["x"], "function": "not-served", "before_response": True}
    response = emu.invoke(event).json()
    assert response["errorType"] == "HandOffError" and "AccessDeniedException" in response["errorMessage"]


@pytest.mark.parametrize("managed", [False, True], ids=["one-at-a-time", "managed-instances"])
def test_a_chain_of_hand_offs_stops_at_the_hop_limit_and_carries_the_trace_header(
    handoff_emulator: Callable[..., Emulator], tmp_path: Path, managed: bool
) -> None:
    # Under Managed Instances botocore finds no _X_AMZN_TRACE_ID: the runtime sends the header itself.
    emu = handoff_emulator(max_retry_attempts=0, max_concurrency=2 if managed else 0)
    emu.invoke({"dir": str(tmp_path), "chain": True})
    outcomes = emu.wait_for_async_outcomes(4)
    # Each hop is sent before its invocation answers: under Managed Instances the next may end first.
    conditions = sorted(o["requestContext"]["condition"] for o in outcomes)
    assert conditions == ["RetriesExhausted"] + ["Success"] * 3
    (refused,) = [o for o in outcomes if o["requestContext"]["condition"] == "RetriesExhausted"]
    assert "it would be hop 5 of a chain limited to 4" in refused["responsePayload"]["errorMessage"]
    hops = {hop: runs(tmp_path, f"hop{hop}") for hop in range(1, 6)}
    assert [len(hops[hop]) for hop in range(1, 6)] == [1, 1, 1, 1, 0]
    # The first invocation is 1 in the chain Lambda's loop detection counts; hop n runs as invocation n + 1.
    for hop in range(1, 5):
        assert hops[hop][0]["trace"].endswith(f":{hop + 1}"), hops[hop]


def test_a_hand_off_to_another_function_runs_there(handoff_emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    worker = handoff_emulator(function_name="worker")
    front = handoff_emulator(peers={"worker": worker.url})
    (job_id,) = front.invoke({"dir": str(tmp_path), "hand_off": ["elsewhere"], "function": "worker"}).json()["job_ids"]
    (outcome,) = worker.wait_for_async_outcomes(1)
    assert outcome["requestContext"]["functionArn"].endswith(":function:worker:$LATEST")
    assert outcome["responsePayload"]["handOff"]["jobId"] == job_id
    assert runs(tmp_path, "elsewhere")[0]["job_id"] == job_id
    assert front.async_outcomes() == []  # nothing ran in the front function's queue

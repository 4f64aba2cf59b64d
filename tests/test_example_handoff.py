"""The hand-off example: the payment is recorded by a handed-off job, once, however often it is delivered."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from pathlib import Path

from lambda_runtime.emulator import Emulator

EXAMPLE = Path(__file__).parent.parent / "examples" / "handoff"
KEY = "example-key-0123456789abcdef0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def example(tmp_path: Path, ledger: Path) -> Emulator:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "LAMBDA_RUNTIME_HANDOFF_KEY": KEY,
            "AWS_ENDPOINT_URL_LAMBDA": f"http://127.0.0.1:{port}",
            "LEDGER_DB": str(ledger),
        }
    )
    successes = tmp_path / f"ok-{port}.jsonl"
    return Emulator("app.handler", task_root=str(EXAMPLE), env=env, port=port, on_success=str(successes))


def payments(ledger: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(ledger) as db:
        return list(db.execute("SELECT job_id, order_id, cents FROM payments"))


def test_a_duplicate_delivery_in_a_fresh_environment_records_the_payment_once(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    with example(tmp_path, ledger) as emu:
        answer = emu.invoke({"order_id": "o-1", "cents": 1250}).json()
        (outcome,) = emu.wait_for_async_outcomes(1)
    assert outcome["responsePayload"]["handOff"]["result"] == "recorded"
    assert payments(ledger) == [(answer["job_id"], "o-1", 1250)]
    # Lambda's queue may deliver the same event again, to another environment, which has no memory of the first
    # delivery: the conditional write is what keeps the payment single.
    duplicate = json.dumps(outcome["requestPayload"]).encode()
    with example(tmp_path, ledger) as fresh:
        fresh.lambda_client().invoke(FunctionName="function", InvocationType="Event", Payload=duplicate)
        (again,) = fresh.wait_for_async_outcomes(1)
        output = fresh.runtime_output()
    assert again["responsePayload"]["handOff"] == {**outcome["responsePayload"]["handOff"], "result": "duplicate"}
    assert f"already recorded (job {answer['job_id']})" in output
    assert payments(ledger) == [(answer["job_id"], "o-1", 1250)]

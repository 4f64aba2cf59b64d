"""The emulator refuses what Lambda refuses on an Invoke: a recursive loop past 16 invocations, and a function's
role invoking a function it is not allowed to."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lambda_runtime.emulator import Emulator
from lambda_runtime.emulator.recursion import MAX_CHAIN, ROLE_ACCESS_KEY_ID, chained, lineage_tag
from tests.emulator_functions.harness import emulators


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def self_invoking() -> Iterator[Callable[..., Emulator]]:
    """An emulator whose function's boto3 calls come back to it, with the role's credentials."""
    with emulators() as start:

        def begin(handler: str, **options: object) -> Emulator:
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env["AWS_ENDPOINT_URL_LAMBDA"] = f"http://127.0.0.1:{port}"
            return start(handler, env=env, port=port, **options)

        yield begin


def test_a_chain_past_16_invocations_is_stopped_and_the_event_goes_to_the_failure_destination(
    self_invoking: Callable[..., Emulator], tmp_path: Path
) -> None:
    failures = tmp_path / "failed.jsonl"
    emu = self_invoking("recursive.handler", on_failure=str(failures))
    assert emu.invoke({"dir": str(tmp_path)}).json() == 1
    outcomes = emu.wait_for_async_outcomes(MAX_CHAIN)
    # The stopped event's record is written when it is refused, before the invocation that sent it ends.
    (stopped,) = [o for o in outcomes if o["requestContext"]["condition"] == "RecursiveInvocationException"]
    assert [o["requestContext"]["condition"] for o in outcomes].count("Success") == MAX_CHAIN - 1
    assert stopped["requestPayload"]["n"] == MAX_CHAIN + 1
    assert stopped["responsePayload"]["errorType"] == "RecursiveInvocationException"
    assert failures.read_text().count("RecursiveInvocationException") >= 1
    calls = sorted(int(p.name.split(".")[1]) for p in tmp_path.glob("call.*"))
    assert calls == list(range(1, MAX_CHAIN + 1))  # the 17th never ran
    assert (tmp_path / f"call.{MAX_CHAIN}").read_text().endswith(f"Lineage={lineage_tag(emu.function_arn)}:16")


def test_a_synchronous_call_past_the_chain_limit_gets_recursive_invocation_exception(
    self_invoking: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = self_invoking("recursive.handler")
    header = f"Root=1-00000000-000000000000000000000000;Lineage={lineage_tag(emu.function_arn)}:{MAX_CHAIN}"
    r = emu.invoke({"dir": str(tmp_path)}, headers={"X-Amzn-Trace-Id": header})
    assert r.status_code == 400 and r.headers["X-Amzn-ErrorType"] == "RecursiveInvocationException"
    assert list(tmp_path.glob("call.*")) == []


def test_the_chain_counts_only_this_functions_lineage() -> None:
    arn = "arn:aws:lambda:us-east-1:000000000000:function:f"
    assert chained("Root=1-a-b", arn, from_function=False) == ("Root=1-a-b", 1)  # a caller's header: verbatim
    second, count = chained("Root=1-a-b", arn)
    assert count == 2 and second == f"Root=1-a-b;Lineage={lineage_tag(arn)}:2"
    assert chained(second, arn) == (f"Root=1-a-b;Lineage={lineage_tag(arn)}:3", 3)
    assert chained(second, arn + "2")[1] == 2  # another function's lineage starts its own count


def test_the_functions_role_may_not_invoke_a_function_the_emulator_does_not_serve(
    self_invoking: Callable[..., Emulator],
) -> None:
    emu = self_invoking("recursive.invoke_other")
    answer = emu.invoke({}).json()
    assert answer["code"] == "AccessDeniedException"
    assert (
        "assumed-role/function-role/function is not authorized to perform: lambda:InvokeFunction" in (answer["message"])
    )
    assert "function:not-served because no identity-based policy allows" in answer["message"]
    # Another caller (not the role) is told the function does not exist, as before.
    client = emu.lambda_client()
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="not-served", Payload=b"{}")
    role = emu.lambda_client()
    role._request_signer._credentials.access_key = ROLE_ACCESS_KEY_ID
    with pytest.raises(role.exceptions.ClientError, match="AccessDeniedException"):
        role.invoke(FunctionName="not-served", Payload=b"{}")

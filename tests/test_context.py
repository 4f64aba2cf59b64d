"""The context object: every attribute of the official client's, read from the real /next headers."""

from __future__ import annotations

import time

import pytest

from lambda_runtime.errors import InvocationError
from lambda_runtime.invocation.context import parse_deadline


def test_context_has_every_attribute_of_the_official_client(serve):
    emu = serve("basic.context_info", function_name="my-func", memory_size=256, timeout=30)
    response = emu.invoke({})
    info = response.json()
    assert info["aws_request_id"] and len(info["aws_request_id"]) == 36
    assert info["invoked_function_arn"].endswith(":function:my-func")
    assert info["function_name"] == "my-func"
    assert info["function_version"] == "$LATEST"
    # A string, as awslambdaric passes AWS_LAMBDA_FUNCTION_MEMORY_SIZE on: Powertools logs it as it gets it.
    assert info["memory_limit_in_mb"] == "256"
    assert info["memory_is_int"] is False
    assert info["log_group_name"] == "/aws/lambda/my-func"
    assert info["log_stream_name"]
    assert 0 < info["remaining_ms"] <= 30_000
    assert info["cognito_identity_id"] is None
    assert info["client_custom"] is None
    assert info["tenant_id"] is None


# Test ids must not depend on the clock: pytest-xdist workers each collect the suite and compare the ids.
FAR_AWAY = pytest.param(str(int(time.time() * 1000) + 10**9), id="11-days-away")


@pytest.mark.parametrize("raw", [None, "", "abc", "0", "-1", "12.5", FAR_AWAY])
def test_parse_deadline_rejects_bad_values(raw):
    with pytest.raises(InvocationError) as caught:
        parse_deadline(raw)
    assert caught.value.error_type == "Runtime.LambdaContextUnmarshalError"


def test_parse_deadline_accepts_a_normal_deadline():
    soon = int(time.time() * 1000) + 3000
    assert parse_deadline(str(soon)) == soon

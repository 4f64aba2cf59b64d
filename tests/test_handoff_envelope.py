"""Hand-off envelopes: signed, bound to a function, expiring, hop-limited; and what is refused at the call."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

import lambda_runtime
from lambda_runtime.config import Settings
from lambda_runtime.errors import ConfigError, EnvelopeRejected, HandOffError
from lambda_runtime.handoff.envelope import ENVELOPE_KEY, MAX_EVENT_PAYLOAD, new_envelope, seal, unseal
from lambda_runtime.handoff.receive import Deliveries
from lambda_runtime.handoff.send import prepare

KEY = "0123456789abcdef0123456789abcdef"
NOW = 1_800_000_000.0


@lambda_runtime.job(name="unit-job")
def unit_job(*args: Any, **kwargs: Any) -> None:
    """Registered for these tests; never called."""


def sealed(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"function": "fn", "hop": 1, "origin": "req-1", "now": NOW, "ttl_s": 60.0}
    fields.update(changes)
    return json.loads(seal(new_envelope("unit-job", (1, "a"), {"k": [True, None]}, **fields), KEY))


def check(event: dict[str, Any], *, now: float = NOW + 1, max_hops: int = 4, key: str = KEY) -> Any:
    return unseal(event, key, function="fn", now=now, max_hops=max_hops)


def test_a_sealed_envelope_opens_with_its_fields_intact() -> None:
    envelope = check(sealed())
    assert (envelope.job, envelope.args, envelope.kwargs) == ("unit-job", [1, "a"], {"k": [True, None]})
    assert (envelope.function, envelope.hop, envelope.origin) == ("fn", 1, "req-1")
    assert envelope.expires_at == NOW + 60 and len(envelope.job_id) == 36


def test_every_field_is_covered_by_the_signature() -> None:
    for field, value in [
        ("job", "other"),
        ("args", [2]),
        ("kwargs", {}),
        ("job_id", "x"),
        ("issued_at", 0),
        ("expires_at", NOW + 10**6),
        ("function", "fn2"),
        ("hop", 0),
        ("origin", "r"),
    ]:
        event = sealed()
        event[ENVELOPE_KEY][field] = value
        with pytest.raises(EnvelopeRejected, match="forged or altered"):
            check(event)


@pytest.mark.parametrize(
    ("event", "kwargs", "reason"),
    [
        (lambda: sealed(), {"key": "another key, also 32 bytes long!!"}, "signed with another key"),
        (lambda: sealed(), {"now": NOW + 60}, "expired"),
        (lambda: sealed(now=NOW + 3600), {}, "issued in the future"),
        (lambda: sealed(function="fn2"), {}, "is for function 'fn2'"),
        (lambda: sealed(hop=5), {}, "hop 5, beyond the limit of 4"),
        (lambda: sealed(hop=0), {}, "hop 0"),
        (lambda: {ENVELOPE_KEY: "not an object"}, {}, "malformed"),
        (lambda: {ENVELOPE_KEY: {**sealed()[ENVELOPE_KEY], "extra": 1}}, {}, "malformed"),
    ],
)
def test_refusals_say_why(event: Any, kwargs: dict[str, Any], reason: str) -> None:
    with pytest.raises(EnvelopeRejected, match=reason):
        check(event(), **kwargs)


def test_deliveries_refuse_a_completed_job_and_a_fourth_delivery() -> None:
    deliveries = Deliveries()
    deliveries.admit("a")
    deliveries.completed("a")
    with pytest.raises(EnvelopeRejected, match="already ran to completion"):
        deliveries.admit("a")
    for _ in range(3):  # a job that fails is retried by Lambda: three deliveries in all
        deliveries.admit("b")
    with pytest.raises(EnvelopeRejected, match="delivery 4"):
        deliveries.admit("b")


def test_deliveries_remember_a_bounded_number_of_ids() -> None:
    deliveries = Deliveries(remembered=2)
    for job_id in "abc":
        deliveries.admit(job_id)
        deliveries.completed(job_id)
    deliveries.admit("a")  # forgotten: the expiry bounds what memory cannot
    with pytest.raises(EnvelopeRejected):
        deliveries.admit("c")


def settings(**changes: str) -> Settings:
    environ = {
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "_HANDLER": "m.f",
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "LAMBDA_RUNTIME_HANDOFF_KEY": KEY,
        **changes,
    }
    return Settings.from_environ(environ)


def test_prepare_refuses_at_the_call_what_could_not_travel() -> None:
    good = settings()
    with pytest.raises(ValueError, match="not a registered job"):
        prepare(good, print, (), {}, origin="r", trace_id=None)
    with pytest.raises(TypeError, match="must be JSON"):
        prepare(good, unit_job, (object(),), {}, origin="r", trace_id=None)
    with pytest.raises(TypeError, match="must be JSON"):
        prepare(good, unit_job, (math.nan,), {}, origin="r", trace_id=None)
    with pytest.raises(HandOffError, match="over Lambda's 1048576-byte limit"):
        prepare(good, unit_job, ("x" * MAX_EVENT_PAYLOAD,), {}, origin="r", trace_id=None)
    with pytest.raises(HandOffError, match="LAMBDA_RUNTIME_HANDOFF_KEY"):
        prepare(settings(LAMBDA_RUNTIME_HANDOFF_KEY=""), unit_job, (), {}, origin="r", trace_id=None)


def test_prepare_binds_the_running_version_and_the_target() -> None:
    parcel = prepare(settings(AWS_LAMBDA_FUNCTION_VERSION="7"), "unit-job", (1,), {}, origin="r", trace_id="Root=x")
    assert (parcel.function, parcel.qualifier, parcel.trace_id) == ("fn", "7", "Root=x")
    assert json.loads(parcel.payload)[ENVELOPE_KEY]["job_id"] == parcel.job_id
    other = prepare(settings(), unit_job, (), {}, origin="r", trace_id=None, function="worker-fn")
    assert (other.function, other.qualifier) == ("worker-fn", None)
    assert json.loads(other.payload)[ENVELOPE_KEY]["function"] == "worker-fn"


def test_a_short_key_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError, match="LAMBDA_RUNTIME_HANDOFF_KEY=<secret> is invalid: must be at least 32") as e:
        settings(LAMBDA_RUNTIME_HANDOFF_KEY="short-secret")
    assert "short-secret" not in str(e.value)


def test_hop_limit_is_bounded_under_lambdas_loop_threshold() -> None:
    assert settings().handoff_max_hops == 4
    with pytest.raises(ConfigError, match="LAMBDA_RUNTIME_HANDOFF_MAX_HOPS"):
        settings(LAMBDA_RUNTIME_HANDOFF_MAX_HOPS="16")


def test_a_job_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="already registered"):
        lambda_runtime.job(name="unit-job")(lambda: None)

"""The public API is small and deliberate: changing it must be a conscious decision."""

import lambda_runtime


def test_all_is_pinned():
    assert sorted(lambda_runtime.__all__) == [
        "DeferRejected",
        "EnvelopeRejected",
        "HandOff",
        "HandOffError",
        "Job",
        "LambdaContext",
        "LambdaRuntimeError",
        "ProcessJobError",
        "StreamingResponse",
        "__version__",
        "after_jobs",
        "current_hand_off",
        "current_job",
        "current_trace_id",
        "job",
        "on_job_error",
        "on_shutdown",
    ]
    for name in lambda_runtime.__all__:
        assert hasattr(lambda_runtime, name)


def test_current_job_is_none_outside_a_job():
    assert lambda_runtime.current_job() is None


def test_current_trace_id_is_none_outside_an_invocation():
    assert lambda_runtime.current_trace_id() is None


def test_the_test_kit_s_api_is_pinned():
    import lambda_runtime.testing

    assert sorted(lambda_runtime.testing.__all__) == [
        "LocalFunction",
        "LocalInvocation",
        "StillRunning",
    ]
    for name in lambda_runtime.testing.__all__:
        assert hasattr(lambda_runtime.testing, name)

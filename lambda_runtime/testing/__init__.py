"""Test a handler that defers work, in process, without a server: `LocalFunction`.

    from lambda_runtime.testing import LocalFunction

    def test_answers_then_sends_the_email():
        with LocalFunction(app.handler) as function:
            run = function.invoke({"to": "a@example.com"})
        assert run.result == {"queued": True}
        assert run.outcomes == {"send_email": "ok"}
        assert "email sent" in run.logs

The handler runs in the runtime's own invocation loop with a real `context` (same attributes as on Lambda, a real
`defer()`); its jobs run on the runtime's own thread pool and worker processes, with the runtime's deadlines,
cancellation, overrun policy and summary line. Only time is simulated: the jobs' clock stands still until the test
moves it (`advance`, `expire`), so a deadline passes exactly when the test says, however loaded the machine is.

With pytest, the `lambda_function` fixture makes `LocalFunction`s closed after the test, and `lambda_emulator`
starts the local emulator (the `[emulator]` extra) for end-to-end tests: see `lambda_runtime.testing.pytest_plugin`.
"""

from lambda_runtime.testing.function import LocalFunction
from lambda_runtime.testing.invocation import LocalInvocation, StillRunning

__all__ = ["LocalFunction", "LocalInvocation", "StillRunning"]

"""The example's own tests: `pytest examples/background_tasks` (needs the `emulator` extra and pytest).

In process with `lambda_function` (no server, simulated deadlines), and end to end with `lambda_emulator`.
"""

from pathlib import Path

import app


def test_answers_with_the_message_and_works_after_the_response(lambda_function):
    run = lambda_function(app.handler).invoke({"message": "hello"})
    assert run.result == {"echoedMessage": "hello"}
    assert run.outcomes == {"background_work": "ok"}
    assert "Background work completed for 'hello'" in run.logs


def test_reads_the_message_from_a_function_url_body(lambda_function):
    run = lambda_function(app.handler).invoke({"body": '{"message": "via url"}'})
    assert run.result == {"echoedMessage": "via url"}


def test_the_work_stops_at_the_deadline(lambda_function):
    run = lambda_function(app.handler, timeout=10).start({"message": "late"})
    run.expire().wait()  # the function's 10 s are up: the runtime cancels the job
    assert run.outcomes == {"background_work": "timed_out"}
    run.wait_for_log("Background work cancelled at the deadline")


def test_on_the_emulator(lambda_emulator):
    emulator = lambda_emulator(
        "app.handler", task_root=str(Path(__file__).parent), env={"BACKGROUND_WORK_SECONDS": "0"}
    )
    assert emulator.invoke({"message": "end to end"}).json() == {"echoedMessage": "end to end"}
    emulator.wait_for_output("Background work completed for 'end to end'")

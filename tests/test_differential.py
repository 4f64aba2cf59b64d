"""Differential test: the official client and ours run the same handlers under the same emulator.

Where the two differ on purpose, the test says so and asserts both sides of the difference.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from tests import differential
from tests.conftest import FUNCTIONS, OFFICIAL_CLIENT
from tests.scripted_server import Reply, ScriptedRuntimeApi, Seen
from tests.test_logs import read_frames

NEXT_HEADERS = "X-Emulator-Next-Headers"

PAYLOAD = {"n": 7, "text": "héllo", "list": [1, 2.5, None, True]}


@pytest.fixture
def both(serve):
    def start(handler: str, **options):
        ours = serve(handler, **options)
        official = serve(handler, runtime_command=[*OFFICIAL_CLIENT, handler], **options)
        return ours, official

    start.serve = serve
    return start


@pytest.mark.parametrize(
    "handler", ["basic.echo", "basic.returns_decimal", "basic.returns_bytes", "basic.logs_and_prints", "pkg.sub.mod.fn"]
)
def test_results_match(both, handler):
    ours, official = both(handler)
    mine, theirs = ours.invoke(PAYLOAD), official.invoke(PAYLOAD)
    assert mine.status_code == theirs.status_code == 200
    if handler == "basic.returns_bytes":
        assert mine.content == theirs.content
    else:
        assert mine.json() == theirs.json()


def test_handler_errors_match(both):
    ours, official = both("basic.raise_value_error")
    mine, theirs = ours.invoke(PAYLOAD).json(), official.invoke(PAYLOAD).json()
    for key in ("errorType", "errorMessage"):
        assert mine[key] == theirs[key]
    assert mine["stackTrace"]
    assert [line.split(",")[0] for line in mine["stackTrace"]] == [line.split(",")[0] for line in theirs["stackTrace"]]


@pytest.mark.parametrize(
    "handler",
    [
        "nodot",
        "sys.handler",
        "no_such_module.handler",
        "import_fails.handler",
        "syntax_error.handler",
        "basic.missing",
        "import_raises.handler",
    ],
)
def test_init_errors_match(both, handler):
    ours, official = both(handler)
    mine, theirs = ours.invoke({}).json(), official.invoke({}).json()
    assert mine["errorType"] == theirs["errorType"]
    assert mine["errorMessage"] == theirs["errorMessage"]


def test_unmarshal_and_marshal_errors_match(both):
    ours, official = both("basic.echo")
    assert ours.invoke(b"{nope").json()["errorType"] == official.invoke(b"{nope").json()["errorType"]
    ours, official = both("basic.returns_set")
    assert ours.invoke({}).json()["errorType"] == official.invoke({}).json()["errorType"] == "Runtime.MarshalError"


def test_context_matches(both):
    ours, official = both("basic.context_info")
    mine, theirs = ours.invoke({}).json(), official.invoke({}).json()
    keys = ("function_name", "function_version", "log_group_name", "cognito_identity_id", "client_custom")
    for key in (*keys, "memory_limit_in_mb", "memory_is_int"):
        assert mine[key] == theirs[key]
    assert mine["memory_limit_in_mb"] == "128"  # a string on both: Powertools' function_memory_size is the same


def test_bad_deadline_deliberately_differs(both):
    ours, official = both("basic.echo")
    bad = {"X-Emulator-Next-Headers": json.dumps({"Lambda-Runtime-Deadline-Ms": "abc"})}
    # Ours: a clear error for that invocation, same environment serves the next one.
    assert ours.invoke({}, headers=bad).json()["errorType"] == "Runtime.LambdaContextUnmarshalError"
    assert ours.invoke({"after": 1}).json() == {"after": 1}
    # The official client aborts the whole process.
    assert official.invoke({}, headers=bad).json()["errorType"] == "Runtime.ExitError"


def test_system_exit_deliberately_differs(both):
    ours, official = both("basic.raise_system_exit")
    assert ours.invoke({}).json()["errorType"] == "SystemExit"
    assert official.invoke({}).json()["errorType"] == "Runtime.ExitError"


def test_nan_deliberately_differs(both):
    ours, official = both("basic.returns_nan")
    assert ours.invoke({}).json()["errorType"] == "Runtime.MarshalError"
    assert official.invoke({}).content == b"NaN"  # not valid JSON


# --- what CloudWatch, X-Ray and Powertools see ---------------------------------------------------------------------

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{3})?(?:Z|\+0000)")
TRACE = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")


def runtime_lines(emu, request_id: str | None = None) -> list[str]:
    """What the runtime wrote (not the emulator's START/END/REPORT lines), ids and times replaced by placeholders."""
    emu.wait_for_records(1)
    lines = []
    for line in emu.runtime_output().split("\n"):
        if not line or line.startswith(("START ", "END ", "REPORT ", "INIT_REPORT ")):
            continue
        line = line.replace(request_id, "<request-id>") if request_id else line
        line = TRACE.sub("<trace>", TIMESTAMP.sub("<time>", line))
        lines.append(re.sub(r'"Timestamp":\d+', '"Timestamp":<ms>', line))
    return lines


def without_request_id(body):
    return {k: v for k, v in body.items() if k != "requestId"} if isinstance(body, dict) else body


def invoke_both(both, handler, payload=PAYLOAD, **options):
    ours, official = both(handler, **options)
    mine, theirs = ours.invoke(payload), official.invoke(payload)
    mine_id, theirs_id = mine.headers["X-Amzn-RequestId"], theirs.headers["X-Amzn-RequestId"]
    return (mine, runtime_lines(ours, mine_id)), (theirs, runtime_lines(official, theirs_id))


@pytest.mark.parametrize(
    ("handler", "payload"),
    [
        ("basic.raise_value_error", PAYLOAD),  # the [ERROR] record with its traceback, CR-joined
        ("logging_fn.forge", {"message": "plain warning"}),
        ("logging_fn.log_env", {}),  # WARNING shows, INFO does not: the default level
        ("basic.logs_and_prints", PAYLOAD),
        ("powertools_fn.logged", {}),  # Logger with inject_lambda_context: function_memory_size "128" on both
        ("powertools_fn.measured", {}),  # Metrics: the EMF blob
    ],
)
def test_text_log_output_matches(both, handler, payload):
    (mine, my_lines), (theirs, their_lines) = invoke_both(both, handler, payload)
    assert without_request_id(mine.json()) == without_request_id(theirs.json())
    assert my_lines == their_lines
    assert my_lines  # something was logged


def test_json_log_output_matches_but_for_millisecond_timestamps(both):
    env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    tenant = {NEXT_HEADERS: json.dumps({"Lambda-Runtime-Aws-Tenant-Id": "tenant-1"})}
    ours, official = both("logging_fn.handler", env=env)
    records = []
    for emu in (ours, official):
        request_id = emu.invoke({}, headers=tenant).headers["X-Amzn-RequestId"]
        emu.wait_for_output("from a thread")
        lines = [json.loads(line) for line in emu.runtime_output().split("\n") if line.startswith("{")]
        assert {line["requestId"] for line in lines} == {request_id}
        records.append(lines)
    mine, theirs = records
    # Deliberately different: ours keep milliseconds, as the managed runtimes' JSON logs do; awslambdaric drops them.
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line.pop("timestamp")) for line in mine)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", line.pop("timestamp")) for line in theirs)
    for line in (*mine, *theirs):
        line.pop("requestId")
    assert mine == theirs
    assert {line["tenantId"] for line in mine} == {"tenant-1"} and "location" in mine[1]


def test_json_error_records_match_but_for_millisecond_timestamps(both):
    (_, my_lines), (_, their_lines) = invoke_both(
        both, "basic.raise_value_error", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"}
    )
    (mine,), (theirs,) = [json.loads(line) for line in my_lines], [json.loads(line) for line in their_lines]
    assert mine["level"] == theirs["level"] == "ERROR"
    assert mine == theirs  # timestamps are placeholders here: both kinds match TIMESTAMP


def test_logged_traceback_in_text_deliberately_differs(both):
    # Deliberately better: awslambdaric writes a logger.exception() traceback over several lines, each its own
    # CloudWatch event when not framed, and glues the next record to its last line. Ours: one record, one line.
    (_, my_lines), (_, their_lines) = invoke_both(both, "logging_fn.handler", {})
    (mine,) = [line for line in my_lines if "caught something" in line]
    assert mine.startswith("[ERROR]\t<time>\t<request-id>\tcaught something\rTraceback (most recent call last):\r")
    assert "from a thread" not in mine and "[WARNING]\t<time>\t<request-id>\tfrom a thread" in my_lines
    assert "Traceback (most recent call last):" in their_lines
    assert "KeyError: 'missing'[WARNING]\t<time>\t<request-id>\tfrom a thread" in their_lines


def test_newline_in_an_error_message_deliberately_differs(both):
    # Deliberately better: awslambdaric writes the message's newline as is, so the rest reads as a line of its own.
    (_, my_lines), (_, their_lines) = invoke_both(both, "logging_fn.raise_error", {})
    assert my_lines[0].startswith("[ERROR] ValueError: broken\racross lines\rTraceback (most recent call last):\r")
    assert their_lines[0] == "[ERROR] ValueError: broken"
    assert their_lines[1].startswith("across lines\rTraceback (most recent call last):\r")
    assert my_lines == ["\r".join(their_lines)]


def test_log_level_variable_deliberately_differs(both):
    # Deliberately different: ours falls back to LOG_LEVEL when AWS_LAMBDA_LOG_LEVEL is unset; awslambdaric ignores it.
    (_, my_lines), (_, their_lines) = invoke_both(both, "logging_fn.log_env", {}, env={"LOG_LEVEL": "INFO"})
    assert "[INFO]\t<time>\t<request-id>\tinfo line" in my_lines
    assert not [line for line in their_lines if "info line" in line]
    assert "[WARNING]\t<time>\t<request-id>\twarning line" in their_lines


def test_init_error_logs_match_but_for_the_managed_runtime_warning(both):
    (_, my_lines), (_, their_lines) = invoke_both(both, "import_raises.handler", {})
    # Deliberately different: awslambdaric's LAMBDA_WARNING speaks of managed runtime updates, which do not apply.
    assert [line for line in their_lines if "LAMBDA_WARNING: Unhandled exception" in line]
    assert my_lines == [line for line in their_lines if "LAMBDA_WARNING" not in line]
    assert my_lines[0].startswith("[ERROR] RuntimeError: configuration missing at import time\rTraceback")


def test_init_error_bodies_match(both):
    ours, official = both("import_raises.handler")
    mine, theirs = ours.invoke({}).json(), official.invoke({}).json()
    assert mine == theirs


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_telemetry_frames_match(both, tmp_path, log_format):
    frames = []
    for name, command in (("ours", [sys.executable, "-m", "lambda_runtime"]), ("theirs", [*OFFICIAL_CLIENT])):
        sink = tmp_path / f"{name}.frames"
        shell = ["/bin/sh", "-c", f'exec "$@" 3>"{sink}"', "sh", *command, "logging_fn.raise_error"]
        env = {"_LAMBDA_TELEMETRY_LOG_FD": "3", "AWS_LAMBDA_LOG_FORMAT": log_format, "PATH": "/usr/bin:/bin"}
        ours = both.serve("logging_fn.raise_error", runtime_command=shell, env=env)
        request_id = ours.invoke({}).headers["X-Amzn-RequestId"]
        ours.wait_for_records(1)
        decoded = read_frames(sink.read_bytes())
        frames.append([(kind, TIMESTAMP.sub("<time>", text.replace(request_id, "<id>"))) for kind, _, text in decoded])
    mine, theirs = frames
    assert mine == theirs and mine


def scripted_posts(command: list[str], handler: str) -> Seen:
    """The first post the runtime makes for one scripted event."""
    deadline = str(int(time.time() * 1000) + 600_000)
    event = {
        "Lambda-Runtime-Aws-Request-Id": "req-1",
        "Lambda-Runtime-Deadline-Ms": deadline,
        "Lambda-Runtime-Invocation-Id": "inv-1",
        "Lambda-Runtime-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
        "Content-Type": "application/json",
    }
    with ScriptedRuntimeApi() as api:
        api.defaults["GET"] = Reply(200, json.dumps(PAYLOAD).encode(), event)
        env = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API": api.address, "LAMBDA_TASK_ROOT": str(FUNCTIONS)}
        process = subprocess.Popen([*command, handler], env=env, cwd=FUNCTIONS, stdout=subprocess.DEVNULL)
        try:
            seen = api.wait_for(lambda seen: any(s.method == "POST" for s in seen), timeout=60)
        finally:
            process.kill()
            process.wait()
    return next(s for s in seen if s.method == "POST")


OURS = [sys.executable, "-m", "lambda_runtime"]


def test_error_post_headers_match(tmp_path):
    mine, theirs = (
        scripted_posts(OURS, "basic.raise_value_error"),
        scripted_posts(OFFICIAL_CLIENT, "basic.raise_value_error"),
    )
    mine_h, theirs_h = ({k.lower(): v for k, v in s.headers.items()} for s in (mine, theirs))
    assert mine.path == theirs.path == "/2018-06-01/runtime/invocation/req-1/error"
    cause, their_cause = (json.loads(h["lambda-runtime-function-xray-error-cause"]) for h in (mine_h, theirs_h))
    assert cause == their_cause
    assert cause["exceptions"][0]["type"] == "ValueError" and cause["paths"] == [str(FUNCTIONS / "basic.py")]
    for name in ("lambda-runtime-invocation-id", "content-type"):
        assert mine_h[name] == theirs_h[name]
    assert json.loads(mine.body) == json.loads(theirs.body)
    # Deliberately different: ours also sends the error type header that AWS documents for custom runtimes.
    assert mine_h["lambda-runtime-function-error-type"] == "ValueError"
    assert "lambda-runtime-function-error-type" not in theirs_h


def test_response_post_headers_match():
    mine, theirs = scripted_posts(OURS, "basic.echo"), scripted_posts(OFFICIAL_CLIENT, "basic.echo")
    mine_h, theirs_h = ({k.lower(): v for k, v in s.headers.items()} for s in (mine, theirs))
    assert mine.path == theirs.path == "/2018-06-01/runtime/invocation/req-1/response"
    for name in ("lambda-runtime-invocation-id", "content-type"):
        assert mine_h[name] == theirs_h[name]
    assert json.loads(mine.body) == json.loads(theirs.body) == PAYLOAD


def test_child_processes_see_the_trace_id_on_both(both):
    ours, official = both("basic.child_trace_id")
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    headers = {"X-Amzn-Trace-Id": trace}
    assert ours.invoke({}, headers=headers).json() == official.invoke({}, headers=headers).json()
    assert ours.invoke({}, headers=headers).json() == {"child": trace, "own": trace}


@pytest.mark.parametrize(
    ("handler", "event"),
    [
        ("powertools_fn.rest_api", {"path": "/orders/7", "httpMethod": "GET", "queryStringParameters": {"q": "x"}}),
        ("powertools_fn.rest_api", {"path": "/orders", "httpMethod": "POST", "body": '{"sku": "a"}'}),
        ("powertools_fn.rest_api", {"path": "/nope", "httpMethod": "GET"}),
        (
            "powertools_fn.http_api",
            {
                "version": "2.0",
                "rawPath": "/ping",
                "rawQueryString": "",
                "headers": {},
                "requestContext": {"http": {"method": "GET", "path": "/ping"}, "stage": "$default"},
            },
        ),
    ],
)
def test_powertools_event_handler_matches(both, handler, event):
    ours, official = both(handler)
    mine, theirs = ours.invoke(event), official.invoke(event)
    assert mine.json() == theirs.json()
    assert mine.json()["statusCode"] in (200, 201, 404)


# --- results, context and logs on the scripted Runtime API: each case run by both runtimes ---------------------------


def both_run(handler, events, env=None, tmp_path=None):
    """(ours, official): what each runtime posted, printed and framed for the same events."""
    runs = []
    for runtime in ("ours", "official"):
        sink = tmp_path / f"{runtime}.frames" if tmp_path is not None else None
        runs.append(differential.run(runtime, handler, events, env, telemetry=sink))
    return runs


RESULT_RECIPES = {
    "namedtuple": {"point": {"$": "point", "v": [1, 2]}},
    "namedtuple at the top": {"$": "point", "v": [1, {"$": "point", "v": [3, 4]}]},
    "bytes nested": {"data": {"$": "bytes", "v": "héllo"}, "list": [{"$": "bytes", "v": "x"}]},
    "bytes as a key": {"$": "pairs", "v": [[{"$": "bytes", "v": "key"}, 1]]},
    "lone surrogate": {"text": {"$": "chr", "v": 0xD800}, "list": ["a", {"$": "chr", "v": 0xDFFF}]},
}


@pytest.mark.parametrize("case", list(RESULT_RECIPES))
def test_results_of_every_kind_match(case):
    events = [differential.event(RESULT_RECIPES[case], "req-1")]
    ours, official = both_run("conformance.result", events)
    (mine,), (theirs,) = ours.outcomes, official.outcomes
    assert theirs.posted == "response"
    assert differential.judge_result(mine, theirs) in (differential.SAME, differential.NEUTRAL)
    assert json.loads(mine.body) == json.loads(theirs.body)


@pytest.mark.parametrize("header", ["Lambda-Runtime-Client-Context", "Lambda-Runtime-Cognito-Identity"])
@pytest.mark.parametrize(
    "value",
    [
        "null",
        differential.utf8_header('{"custom": {"name": "Zoë 🚀"}, "cognitoIdentityId": "idé 🚀"}'),
        '{"custom": {"k": "v"}, "w3c": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",'
        ' "tracestate": "congo=t61rcWkgMzE", "baggage": 7, "other": "x"}}',
    ],
    ids=["null", "raw-utf8", "w3c"],
)
def test_context_headers_match(header, value):
    ours, official = both_run("conformance.context_info", [differential.event({}, "req-1", **{header: value})])
    (mine,), (theirs,) = ours.outcomes, official.outcomes
    assert theirs.posted == mine.posted == "response"
    assert json.loads(mine.body) == json.loads(theirs.body)


def test_w3c_trace_context_is_taken_out_of_the_client_context():
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    context = json.dumps({"custom": {"k": "v"}, "w3c": {"traceparent": traceparent, "baggage": 7}})
    ours, official = both_run(
        "conformance.context_info", [differential.event({}, "req-1", **{"Lambda-Runtime-Client-Context": context})]
    )
    for side in (ours, official):
        info = json.loads(side.outcomes[0].body)
        assert info["w3c"] == {"traceparent": traceparent}
        assert info["client_context"]["custom"] == {"k": "v"}


@pytest.mark.parametrize("path", ["stdout_partial", "print_no_end", "stderr_partial"])
def test_output_without_a_newline_reaches_the_pipe_before_the_next_record(path):
    # The runtime is killed right after its post: text still in a buffer would be lost.
    events = [differential.event({"path": path, "text": "no newline here"}, "req-1")]
    ours, official = both_run("conformance.emit", events)
    assert b"no newline here[WARNING]" in official.output
    assert b"no newline here[WARNING]" in ours.output
    assert differential.normalised(ours.output) == differential.normalised(official.output)


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_context_log_writes_a_frame_on_the_telemetry_descriptor(tmp_path, log_format):
    events = [differential.event({"path": "context_log", "text": "from context.log"}, "req-1")]
    ours, official = both_run("conformance.emit", events, {"AWS_LAMBDA_LOG_FORMAT": log_format}, tmp_path)
    frames = [[(kind, text) for kind, _, text in read_frames(side.frames)] for side in (ours, official)]
    assert frames[1][0] == (0xA55A0003, "from context.log")
    assert frames[0][0] == frames[1][0]
    assert b"from context.log" not in ours.output


def test_a_custom_log_level_is_named_as_the_official_client_names_it():
    events = [differential.event({"path": "logging_custom_level", "text": "notice"}, "req-1")]
    ours, official = both_run(
        "conformance.emit", events, {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    )
    (mine, *_), (theirs, *_) = ([json.loads(line) for line in side.output.splitlines()] for side in (ours, official))
    assert theirs["level"] == "INFO"
    assert mine["level"] == theirs["level"]


def test_an_error_with_an_empty_message_is_logged_without_a_colon():
    events = [differential.event({"path": "raise_empty", "text": ""}, "req-1")]
    ours, official = both_run("conformance.emit", events)
    assert official.output.startswith(b"[ERROR] ValueError\rTraceback")
    assert ours.output.split(b"\r")[0] == b"[ERROR] ValueError"
    (mine,), (theirs,) = ours.outcomes, official.outcomes
    assert json.loads(mine.body) == json.loads(theirs.body)

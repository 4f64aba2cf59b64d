"""Generated differential cases: results of every kind, every context header, every log path, on both runtimes.

Each case is judged same / ours better / neutral / ours worse (tests/differential.py). "Ours worse" fails the test
unless it is one of the deliberate differences listed in docs/compatibility-details.md, which the test then asserts
on both sides. Run with `-s` to see the counts.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests import differential
from tests.differential import BETTER, NEUTRAL, SAME, WORSE, event, judge_result, refuses_non_finite, run
from tests.test_logs import read_frames

TALLY = differential.Tally("differential")


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    print(f"\n{TALLY.summary()}")


# --- results ----------------------------------------------------------------------------------------------------------


def kind(name: str, value: object) -> dict[str, object]:
    return {"$": name, "v": value}


keys = st.text(max_size=8).filter(lambda key: key != "$")
floats = st.floats(allow_nan=True, allow_infinity=True).map(lambda x: kind("float", repr(x)))
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**53, max_value=2**200),  # beyond a double: written exactly on both sides
    floats,
    st.text(max_size=12),
    st.integers(min_value=0xD800, max_value=0xDFFF).map(lambda c: kind("chr", c)),  # lone surrogates
    st.decimals(allow_nan=True, allow_infinity=True, places=None).map(lambda d: kind("decimal", str(d))),
    st.text(max_size=8).map(lambda t: kind("bytes", t)),  # valid UTF-8
    st.binary(max_size=8).map(lambda b: kind("hex", b.hex())),  # often not UTF-8
    st.text(max_size=8).map(lambda t: kind("bytearray", t)),
    st.text(max_size=8).map(lambda t: kind("text", t)),  # a str subclass
    st.integers().map(lambda n: kind("number", str(n))),  # an int subclass
    st.floats(allow_nan=False).map(lambda x: kind("real", repr(x))),  # a float subclass
    st.sampled_from([kind("enum", None), kind("intenum", None), kind("strenum", None)]),
)
dict_keys = st.one_of(
    keys.map(lambda t: kind("bytes", t)),
    st.integers(),
    floats,
    st.none(),
    st.booleans(),
    keys,
    st.just(kind("decimal", "1.5")),
)


def containers(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(lambda items: kind("tuple", items)),
        st.lists(children, max_size=4).map(lambda items: kind("items", items)),  # a list subclass
        st.lists(children, min_size=1, max_size=4).map(lambda items: kind("namedtuple", items)),
        st.lists(children, max_size=2).map(lambda items: kind("set", [])),
        st.dictionaries(keys, children, max_size=4),
        st.dictionaries(keys, children, max_size=4).map(lambda d: kind("mapping", d)),  # a dict subclass
        st.lists(st.tuples(dict_keys, children), max_size=3).map(lambda pairs: kind("pairs", pairs)),
    )


recipes = st.recursive(leaves, containers, max_leaves=10)


def judge_results(recipes_: list[object]) -> None:
    events = [event(recipe, f"req-{i}") for i, recipe in enumerate(recipes_)]
    ours, official = (run(side, "conformance.result", events) for side in ("ours", "official"))
    for recipe, mine, theirs in zip(recipes_, ours.outcomes, official.outcomes, strict=True):
        verdict = judge_result(mine, theirs)
        deliberate = refuses_non_finite(mine, theirs)
        TALLY.add(verdict, f"result {json.dumps(recipe)}", deliberate)
        assert verdict != WORSE or deliberate, (recipe, mine, theirs)


EVERY_KIND = [
    None,
    True,
    0,
    -(2**64),
    1.5,
    kind("float", "1e308"),
    kind("float", "-0.0"),
    kind("float", "5e-324"),
    "héllo 🚀",
    "",
    kind("chr", 0xD83D),
    kind("decimal", "19.99"),
    kind("decimal", "-0"),
    kind("decimal", "1E+2"),
    kind("decimal", "NaN"),
    kind("decimal", "Infinity"),
    kind("float", "nan"),
    kind("float", "-inf"),
    kind("bytes", "raw at the top"),
    kind("hex", "00ff"),  # top-level bytes go out as they are, on both sides
    kind("bytearray", "top"),  # ours sends it raw as bytes; awslambdaric cannot encode it
    kind("memoryview", "top"),
    {"nested bytes": kind("bytes", "é"), "invalid": kind("hex", "ff")},
    {"bytearray": kind("bytearray", "x")},
    kind("text", "subclass"),
    kind("number", "7"),
    kind("real", "2.5"),
    kind("enum", None),
    kind("intenum", None),
    kind("strenum", None),
    kind("set", []),
    kind("tuple", [1, kind("tuple", [2])]),
    kind("items", [1, 2]),
    kind("point", [1, kind("point", [2, 3])]),
    kind("namedtuple", [kind("bytes", "x"), [kind("point", [1, 2])]]),
    kind("mapping", {"a": 1}),
    kind("pairs", [[kind("bytes", "b"), 1], [2, 2], [2.5, 3], [None, 4], [True, 5]]),
    kind("pairs", [[kind("float", "nan"), 1], [kind("float", "inf"), 2]]),
    kind("pairs", [[kind("decimal", "1.5"), 1]]),
    kind("pairs", [[kind("tuple", [1]), 1]]),
    {"deep": [[[[{"a": [kind("point", [kind("decimal", "0.1"), kind("bytes", "é")])]}]]]]},
]


def test_every_kind_of_result():
    judge_results(EVERY_KIND)


@settings(
    max_examples=3,
    derandomize=True,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(batch=st.lists(recipes, min_size=50, max_size=50))
def test_generated_results(batch):
    judge_results(batch)


def test_non_finite_numbers_are_refused_deliberately():
    # Deliberate: JSON has no NaN or Infinity. awslambdaric writes them anyway (its encoder allows NaN), and callers
    # that parse strict JSON (JavaScript, Go, API Gateway mappings) fail on them; ours reports a MarshalError.
    events = [event(kind("float", "nan"), "req-1"), event({"price": kind("decimal", "Infinity")}, "req-2")]
    ours, official = (run(side, "conformance.result", events) for side in ("ours", "official"))
    assert [o.error_type for o in ours.outcomes] == ["Runtime.MarshalError"] * 2
    assert [o.body.replace(b" ", b"") for o in official.outcomes] == [b"NaN", b'{"price":Infinity}']


# --- context headers --------------------------------------------------------------------------------------------------

JSON_HEADERS = ["Lambda-Runtime-Client-Context", "Lambda-Runtime-Cognito-Identity"]
TEXT_HEADERS = ["Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Aws-Tenant-Id", "Lambda-Runtime-Trace-Id"]
OTHER_HEADERS = ["Content-Type", "Lambda-Runtime-Invocation-Id", "Lambda-Runtime-Deadline-Ms"]
VALUES = {
    "absent": None,
    "empty": "",
    "null": "null",
    "non-ASCII": differential.utf8_header("Zoë 🚀"),
    "non-ASCII JSON": differential.utf8_header(
        '{"custom": {"name": "Zoë 🚀"}, "env": {"k": "é"}, "client": {"app_title": "appé"},'
        ' "cognitoIdentityId": "idé", "cognitoIdentityPoolId": "pool 🚀"}'
    ),
    "Latin-1 byte": "caf\xe9",  # not UTF-8: kept as it came on ours
    "JSON list": "[1]",
    "JSON string": '"text"',
}
HEADER_CASES = [(h, v) for h in (*JSON_HEADERS, *TEXT_HEADERS, *OTHER_HEADERS) for v in VALUES]

# Every case where the two differ by more than spelling, with the verdict; each is asserted by test_context_headers.
UNPARSABLE = ("Lambda-Runtime-Client-Context", "Lambda-Runtime-Cognito-Identity")
HEADER_VERDICTS = {
    # Deliberate: deferred jobs need a deadline, so an event without one fails; awslambdaric runs the handler.
    ("Lambda-Runtime-Deadline-Ms", "absent"): WORSE,
    # awslambdaric's process exits on these (its native client refuses them): the event and those behind it are lost.
    **{(header, "Latin-1 byte"): BETTER for header in (*JSON_HEADERS, *TEXT_HEADERS, *OTHER_HEADERS)},
    ("Content-Type", "absent"): BETTER,
    ("Content-Type", "empty"): BETTER,
    **{("Lambda-Runtime-Deadline-Ms", v): BETTER for v in VALUES if v not in ("absent", "Latin-1 byte")},
}


def test_context_headers():
    events = [event({}, f"req-{i}", **{header: VALUES[value]}) for i, (header, value) in enumerate(HEADER_CASES)]
    ours, official = (run(side, "conformance.context_info", events) for side in ("ours", "official"))
    for case, mine, theirs in zip(HEADER_CASES, ours.outcomes, official.outcomes, strict=True):
        verdict = judge_result(mine, theirs)
        expected = HEADER_VERDICTS.get(case)
        TALLY.add(verdict, f"header {case}", deliberate=expected == WORSE)
        if expected is None:
            assert verdict in (SAME, NEUTRAL), (case, mine, theirs)
            continue
        assert verdict == expected, (case, mine, theirs)
        if expected == WORSE:
            assert (mine.error_type, theirs.posted) == ("Runtime.LambdaContextUnmarshalError", "response"), case
        else:
            assert theirs.posted == "exit" and mine.posted != "exit", case
    # JSON that is not an object: a clear error naming the header on ours, an AttributeError inside the client
    # on theirs. Neutral: both fail the invocation.
    for value in ("JSON list", "JSON string"):
        for header in UNPARSABLE:
            index = HEADER_CASES.index((header, value))
            assert ours.outcomes[index].error_type == "Runtime.LambdaContextUnmarshalError"
            assert official.outcomes[index].error_type == "AttributeError"


# --- log paths --------------------------------------------------------------------------------------------------------

LOG_CONFIGS = {
    "Text": {},
    "Text, level INFO": {"AWS_LAMBDA_LOG_LEVEL": "INFO"},
    "JSON, level INFO": {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"},
}
LOG_PATHS = [
    "print",
    "stdout_partial",
    "print_no_end",
    "stderr",
    "stderr_partial",
    "logging_warning",
    "logging_info",
    "logging_custom_level",
    "logging_high_level",
    "logging_dict",
    "logging_extra",
    "logging_exception",
    "context_log",
    "child_print",
    "child_partial",
    "thread_print",
    "thread_logging",
    "raise_empty",
    "raise_message",
]


def seen_logs(side: differential.Run, parse: bool = True) -> tuple[list[object], list[tuple[int, object]]]:
    """Output lines and frames (type, text), times replaced by a placeholder; with `parse`, JSON as its value."""
    read = as_json if parse else str
    lines = differential.normalised(side.output).decode().split("\n")
    frames = [(kind_, differential.normalised(text.encode()).decode()) for kind_, _, text in read_frames(side.frames)]
    return [read(line) for line in lines], [(kind_, read(text)) for kind_, text in frames]


def as_json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def judge_logs(ours: differential.Run, official: differential.Run) -> str:
    if seen_logs(ours, parse=False) == seen_logs(official, parse=False):
        return SAME  # byte for byte but for the times
    # The same records, spelled differently (JSON escapes): neutral. Anything else must be a listed difference.
    return NEUTRAL if seen_logs(ours) == seen_logs(official) else "different"


@pytest.mark.parametrize("framed", [False, True], ids=["stdout", "telemetry descriptor"])
@pytest.mark.parametrize("config", list(LOG_CONFIGS))
def test_log_paths(tmp_path, config, framed):
    for path in LOG_PATHS:
        events = [event({"path": path, "text": f"mark {path} é"}, "req-1")]
        sides = []
        for side in ("ours", "official"):
            sink = tmp_path / f"{side}-{path}.frames" if framed else None
            sides.append(run(side, "conformance.emit", events, LOG_CONFIGS[config], telemetry=sink))
        ours, official = sides
        case = f"log {path} ({config}, {'framed' if framed else 'stdout'})"
        assert judge_result(ours.outcomes[0], official.outcomes[0]) in (SAME, NEUTRAL), case
        below_level = config == "Text" and path in ("logging_info", "logging_custom_level")  # root at WARNING
        shown = f"mark {path} é".encode() in ours.output + ours.frames
        assert shown != (below_level or path == "raise_empty"), case
        verdict = judge_logs(ours, official)
        if path == "logging_exception" and config.startswith("Text") and not framed:
            # Deliberately better: a traceback logged on stdout stays one line (\r between its lines), so it is one
            # CloudWatch event; awslambdaric writes one event per line and glues the next record to the last one.
            assert verdict == "different", case
            mine, theirs = differential.normalised(ours.output), differential.normalised(official.output)
            (my_record, my_next, _), their_lines = mine.split(b"\n"), theirs.split(b"\n")
            assert my_record.count(b"\r") == 4 and my_next.endswith(b"\tafter"), case
            assert b"\r".join(their_lines[:4]) + b"\r" + their_lines[4].split(b"[WARNING]")[0] == my_record, case
            verdict = BETTER
        assert verdict in (SAME, NEUTRAL, BETTER), f"{case}: ours {seen_logs(ours)!r}\ntheirs {seen_logs(official)!r}"
        TALLY.add(verdict, case, deliberate=verdict == BETTER)


def test_bytes_like_results_are_posted_raw_deliberately():
    # Deliberately better: a bytearray or memoryview result is posted raw, as bytes are; awslambdaric cannot encode it.
    events = [event(kind("bytearray", "raw é"), "req-1"), event(kind("memoryview", "raw"), "req-2")]
    ours, official = (run(side, "conformance.result", events) for side in ("ours", "official"))
    assert [(o.body, o.content_type) for o in ours.outcomes] == [
        ("raw é".encode(), "application/unknown"),
        (b"raw", "application/unknown"),
    ]
    assert [o.error_type for o in official.outcomes] == ["Runtime.MarshalError"] * 2

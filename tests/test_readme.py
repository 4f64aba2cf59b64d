"""README.md and the documentation site's pages (docs/**/*.md) are executable: their shell and Python blocks run, as
written, in a scratch copy of the checkout.

Markers (docs/development.md says the same): an HTML comment on the line right before a fence,
`<!-- readme-test: KIND [ARGUMENT] -->`.

    (no marker)         run it: ```sh, ```bash and ```python blocks (other fences are prose, config or output)
    background          a server: runs in the background, ready once the port of its `--port N` accepts
                        connections, stopped (SIGTERM to its process group) at the end of its `##` section
    output              this block is the previous block's stdout, compared line by line: `...` alone on a line
                        stands for any number of lines, `...` within a line for any text
    log                 lines the section's background block prints: each line (but `...`) must appear in its
                        output, `...` within a line for any text; the section waits for them (up to a minute)
    file PATH           the block is the file PATH, verbatim (other tests run that file)
    excerpt PATH        the block appears verbatim in the file PATH (e.g. part of template.yaml, which cfn-lint checks)
    needs-aws [invoke]  talks to AWS: not run here. tests/test_deploy.py sends the `aws` commands to the emulator:
                        with `invoke` they must succeed there, else reach it as a request the CLI accepted
    skip REASON         not run, for the reason stated (e.g. `make test`, which is the suite this test is part of)

How they run: each `##` section of a page is one bash session (`set -e`) that starts at the root of the scratch
checkout, so a `cd` or an `export` carries over to that section's next blocks, as for a reader typing them into one
terminal. A Python block runs as `python -` in that session. Port 9000 is replaced by a free port, since other test
runs on the machine may hold it. The environment is the project's virtualenv, activated (it is linked into the
scratch copy, and `make` finds it up to date), plus `python3.12` / `python3.13` on PATH when this machine has them
(the pages say which blocks need them); no AWS credentials or config files (the blocks state the dummy ones they
need), and AWS_EC2_METADATA_DISABLED (nothing may leave 127.0.0.1).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.interpreters import find_python

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
RUN_LANGUAGES = {"sh": "shell", "bash": "shell", "shell": "shell", "python": "python"}
KINDS = {"run", "background", "output", "log", "file", "excerpt", "needs-aws", "skip"}
FENCE = re.compile(
    r"^(?:<!-- readme-test: (?P<kind>[\w-]+)(?: (?P<arg>[^\n]*?))? -->\n)?```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$",
    re.M | re.S,
)
PORT = re.compile(r"\b9000\b")


class Block(NamedTuple):
    page: str  # its path from the checkout's root
    index: int  # within its page
    section: str
    line: int
    kind: str
    arg: str
    lang: str
    body: str

    @property
    def runs(self) -> bool:
        return self.kind in ("run", "background") and self.lang in RUN_LANGUAGES

    def __str__(self) -> str:
        return f"{self.page} line {self.line} ({self.section}, ```{self.lang}, {self.kind})"


def parse(text: str, page: str = "README.md") -> list[Block]:
    sections = [(m.start(), m.group(1)) for m in re.finditer(r"^## (.+)$", text, re.M)]
    blocks = []
    for index, match in enumerate(FENCE.finditer(text)):
        section = next((title for start, title in reversed(sections) if start < match.start()), "(top)")
        blocks.append(
            Block(
                page=page,
                index=index,
                section=section,
                line=text.count("\n", 0, match.start("lang")) + 1,
                kind=match["kind"] or "run",
                arg=(match["arg"] or "").strip(),
                lang=match["lang"],
                body=match["body"],
            )
        )
    return blocks


BY_PAGE = {str(page.relative_to(ROOT)): parse(page.read_text(), str(page.relative_to(ROOT))) for page in PAGES}
BLOCKS = [block for blocks in BY_PAGE.values() for block in blocks]
#: (page, section) pairs with something to run, in reading order.
SECTIONS = sorted(
    {(block.page, block.section) for block in BLOCKS if block.runs},
    key=lambda key: (list(BY_PAGE).index(key[0]), min(b.line for b in BY_PAGE[key[0]] if b.section == key[1])),
)


def neighbour(block: Block, offset: int) -> Block | None:
    """The block `offset` places after (or before) `block` on its page."""
    blocks = BY_PAGE[block.page]
    return blocks[block.index + offset] if 0 <= block.index + offset < len(blocks) else None


def expected_output(block: Block) -> Block | None:
    following = neighbour(block, 1)
    return following if following is not None and following.kind == "output" else None


def matches(expected: str, actual: str) -> bool:
    pattern = []
    for line in expected.rstrip("\n").splitlines():
        if line.strip() == "...":
            pattern.append(r"(?:[^\n]*\n)*?")
        else:
            pattern.append(".*?".join(re.escape(part) for part in line.rstrip().split("...")) + r"\n")
    actual = "\n".join(line.rstrip() for line in actual.strip("\n").splitlines()) + "\n"
    return re.fullmatch("".join(pattern), actual) is not None


# -- the markers themselves ----------------------------------------------------------------------------------------


def test_every_marker_is_known_and_complete() -> None:
    for block in BLOCKS:
        assert block.kind in KINDS, f"{block}: unknown marker kind"
        if block.kind in ("file", "excerpt"):
            assert (ROOT / block.arg).is_file(), f"{block}: no file {block.arg!r}"
        if block.kind == "skip":
            assert block.arg, f"{block}: say why it is skipped"
        if block.kind == "output":
            previous = neighbour(block, -1)
            assert previous is not None and previous.runs, f"{block}: the block before it does not run"
        if block.kind == "log":
            earlier = BY_PAGE[block.page][: block.index]
            assert any(b.kind == "background" and b.section == block.section for b in earlier), (
                f"{block}: no background block before it in its section"
            )
        if block.kind == "background":
            assert re.search(r"--port \d+", block.body), f"{block}: a background block names its --port"
    for page in PAGES[1:]:
        assert re.match(r"# \S", page.read_text()), f"{page.relative_to(ROOT)} starts with a # title"
    assert any(block.runs for block in BY_PAGE["README.md"])
    assert len(BY_PAGE) > 1, "the documentation pages under docs/ are found"
    assert README.read_text().startswith("<!--"), "README's first lines say that its blocks run"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.kind in ("file", "excerpt")], ids=str)
def test_blocks_that_show_a_file_agree_with_it(block: Block) -> None:
    text = (ROOT / block.arg).read_text()
    if block.kind == "file":
        assert block.body == text, f"{block} differs from {block.arg}"
    else:
        assert block.body in text, f"{block} is not in {block.arg}"


# -- running them ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's files (tracked, and new ones not ignored) with their times, and a link to its virtualenv."""
    scratch = tmp_path_factory.mktemp("checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (scratch / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, scratch / name)
    (scratch / ".venv").symlink_to(Path(sys.prefix))
    return scratch


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    pythons = tmp_path_factory.mktemp("pythons")
    for version in ("3.12", "3.13"):
        found = find_python(version)
        if found:
            (pythons / f"python{version}").symlink_to(found)
    home = tmp_path_factory.mktemp("home")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "VIRTUAL_ENV", "PYTHON", "LAMBDA_", "_HANDLER"))
        # Under `make test`, a nested make would print "Entering directory" lines into the outputs README shows.
        and key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")
    }
    venv = Path(sys.prefix)  # README's blocks run in the project's virtualenv, as `. .venv/bin/activate` sets it up
    env.update(
        PATH=f"{venv / 'bin'}:{pythons}:{env.get('PATH', '/usr/bin:/bin')}",
        VIRTUAL_ENV=str(venv),
        HOME=str(home),
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_EC2_METADATA_DISABLED="true",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PRELUDE = r"""set -e -m
__readme_bg=""
__readme_stop() { for pid in $__readme_bg; do kill -TERM -- "-$pid" 2>/dev/null || true; done; wait; }
trap __readme_stop EXIT
__readme_ready() {  # port, pid, log
    for _ in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        if ! kill -0 "$2" 2>/dev/null; then echo "background block exited:" >&2; cat "$3" >&2; return 1; fi
        sleep 0.1
    done
    echo "port $1 never opened:" >&2; cat "$3" >&2; return 1
}
"""


LOG_WAITER = r"""
import re, sys, time
log, expected = sys.argv[1], open(sys.argv[2]).read().splitlines()
wanted = [line.rstrip() for line in expected if line.strip() and line.strip() != "..."]
patterns = [re.compile(".*?".join(re.escape(part) for part in line.split("..."))) for line in wanted]
missing = wanted
for _ in range(600):
    text = open(log, errors="replace").read().replace("\r", "\n")
    lines = [line.rstrip() for line in text.splitlines()]
    missing = [w for w, p in zip(wanted, patterns) if not any(p.fullmatch(line) for line in lines)]
    if not missing:
        sys.exit(0)
    time.sleep(0.1)
sys.exit("not in the background block's output:\n" + "\n".join(missing) + "\n--- its output\n" + text)
"""


def script(blocks: list[Block], port: int, logs: Path) -> str:
    parts = [PRELUDE]
    waiter = logs / "log_waiter.py"
    waiter.write_text(LOG_WAITER)
    background_log: Path | None = None
    for block in blocks:
        if block.kind == "log":
            assert background_log is not None, f"{block}: no background block before it"
            expected = logs / f"log-{block.index}.txt"
            expected.write_text(block.body)
            parts.append(f"'{sys.executable}' '{waiter}' '{background_log}' '{expected}'\n")
            continue
        body = PORT.sub(str(port), block.body)
        parts.append(
            f"printf '\\n@@readme-block {block.index}@@\\n'; printf '\\n@@readme-block {block.index}@@\\n' >&2\n"
        )
        if block.kind == "background":
            log = background_log = logs / f"background-{block.index}.log"
            parts.append(f"( {body} ) > '{log}' 2>&1 &\n__readme_bg=\"$__readme_bg $!\"\n")
            parts.append(f"__readme_ready {port} $! '{log}'\n")
        elif RUN_LANGUAGES[block.lang] == "python":
            parts.append(f"python - <<'__README_PY__'\n{body}__README_PY__\n")
        else:
            parts.append(body)
    parts.append("printf '\\n@@readme-end@@\\n'\n")
    return "".join(parts)


def split_outputs(stdout: str) -> dict[int, str]:
    pieces = re.split(r"\n@@readme-(?:block (\d+)|end)@@\n", stdout)
    return {int(index): text for index, text in zip(pieces[1::2], pieces[2::2], strict=False) if index is not None}


@pytest.mark.parametrize(("page", "section"), SECTIONS, ids=[f"{page}: {section}" for page, section in SECTIONS])
def test_section_runs_as_written(
    page: str, section: str, checkout: Path, environment: dict[str, str], tmp_path: Path
) -> None:
    blocks = [b for b in BY_PAGE[page] if b.section == section and (b.runs or b.kind == "log")]
    shown = "".join(block.body + (getattr(expected_output(block), "body", "")) for block in blocks)
    for version in sorted(set(re.findall(r"python(3\.\d+)", shown))):
        if find_python(version) is None:  # the environment fixture put the ones found on PATH
            pytest.skip(f"{page}, {section!r} needs a python{version}, which this machine lacks")
    port = free_port()
    text = script(blocks, port, tmp_path)
    result = subprocess.run(
        ["bash", "-c", text], cwd=checkout, env=environment, capture_output=True, text=True, timeout=240
    )
    outputs = split_outputs(result.stdout)
    ran = [block for block in blocks if block.index in outputs and block.runs]
    failed = ran[-1] if ran else blocks[0]
    assert result.returncode == 0 and "@@readme-end@@" in result.stdout, (
        f"{failed} failed (status {result.returncode}):\n{failed.body}\n--- stdout\n{result.stdout[-6000:]}"
        f"\n--- stderr\n{result.stderr[-6000:]}"
    )
    for block in blocks:
        shown = expected_output(block)
        if shown is not None:
            expected = PORT.sub(str(port), shown.body)
            assert matches(expected, outputs[block.index]), (
                f"{block}: the page shows\n{expected}\nbut it printed\n{outputs[block.index]}"
            )


def test_no_install_line_names_an_unpublished_package() -> None:
    # `lambda-runtime` is on no package index: `pip install 'lambda-runtime[emulator]'` would fail for a reader.
    installs = [
        line
        for block in BLOCKS
        if block.lang in RUN_LANGUAGES
        for line in block.body.splitlines()
        if re.search(r"\bpip install\b", line)
    ]
    assert installs
    for line in installs:
        target = line.split("pip install", 1)[1]
        if "lambda-runtime" in target or "lambda_runtime" in target:
            assert re.search(r"\.whl|git\+|@ |\.\[|^\s*-e\s+\.", target), f"installs an unpublished package: {line}"
    prose = [target for page in PAGES for target in re.findall(r"`pip install ([^`]+)`", page.read_text())]
    for target in prose:
        assert not re.match(r"""['"]?lambda[-_]runtime\b(?!.*(?:git\+|\.whl))""", target), target

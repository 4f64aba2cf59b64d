"""The reference pages of the documentation site agree with the code: every environment variable in one table, every
option of `lambda-runtime serve` on the command-line page, and README stays a short front door."""

from __future__ import annotations

import argparse
import inspect
import re
from pathlib import Path

from lambda_runtime.emulator.cli import build_parser
from lambda_runtime.web import asgi, wsgi

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT_PAGE = ROOT / "docs" / "reference" / "environment.md"
CLI_PAGE = ROOT / "docs" / "reference" / "cli.md"
VARIABLE = re.compile(r"`([A-Z_][A-Z0-9_]*)`")


def table_variables() -> set[str]:
    """The variables named in the first column of the page's table."""
    rows = [line for line in ENVIRONMENT_PAGE.read_text().splitlines() if line.startswith("| `")]
    return {name for row in rows for name in VARIABLE.findall(row.split("|")[1])}


def variables_read() -> set[str]:
    """What the runtime's settings, the emulator's command line and bootstrap read from the environment."""
    config = (ROOT / "lambda_runtime" / "config.py").read_text()
    names = set(re.findall(r'env\.(?:parse|text|choice|optional)\("([A-Z_][A-Z0-9_]*)"', config))
    names |= set(re.findall(r'"(LOG_LEVEL|AWS_LAMBDA_LOG_LEVEL)"', config))
    cli = (ROOT / "lambda_runtime" / "emulator" / "cli.py").read_text()
    names |= set(re.findall(r'environ\.get\("([A-Z_][A-Z0-9_]*)"', cli))
    names |= set(re.findall(r'_variable = "([A-Z_][A-Z0-9_]*)"', cli))  # read through a name that says which
    names |= set(re.findall(r"\$\{?(LAMBDA_RUNTIME_[A-Z_]+)", (ROOT / "bootstrap").read_text()))
    return names


def test_every_variable_the_code_reads_is_in_the_one_table() -> None:
    read = variables_read()
    assert {"AWS_LAMBDA_RUNTIME_API", "LAMBDA_RUNTIME_DEFER_WORKERS", "LOG_LEVEL", "LAMBDA_RUNTIME_PYTHON"} <= read
    assert "AWS_LAMBDA_FUNCTION_TIMEOUT" in read
    missing = read - table_variables()
    assert not missing, f"{ENVIRONMENT_PAGE.relative_to(ROOT)} lacks {sorted(missing)}"


def test_the_table_names_no_setting_of_ours_that_nothing_reads() -> None:
    ours = {name for name in table_variables() if name.startswith(("LAMBDA_RUNTIME_", "_LAMBDA_RUNTIME_"))}
    assert ours, "the table lists the runtime's own settings"
    assert not ours - variables_read(), f"documented but read by nothing: {sorted(ours - variables_read())}"


def serve_options() -> set[str]:
    parser = build_parser()
    (subcommands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    serve = subcommands.choices["serve"]
    return {option for action in serve._actions for option in action.option_strings if option not in ("-h", "--help")}


def test_every_option_of_serve_is_on_the_command_line_page() -> None:
    documented = set(re.findall(r"^\| `(--[a-z-]+)", CLI_PAGE.read_text(), re.M))
    options = serve_options()
    assert {"--port", "--timeout", "--concurrency", "--queue-size"} <= options
    assert options == documented, f"missing: {sorted(options - documented)}; unknown: {sorted(documented - options)}"


def test_readme_is_a_front_door() -> None:
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) < 200
    # The quickstart: from `pip install` to the invocation whose job runs, under 10 lines of commands.
    quickstart = text[text.index("## Quickstart") : text.index("## How it works")]
    commands = [
        line
        for body in re.findall(r"```(?:sh|bash)\n(.*?)```", quickstart, re.S)
        for line in body.splitlines()
        if line.strip()
    ]
    first = next(i for i, line in enumerate(commands) if "pip install" in line)
    assert len(commands[first:]) < 10, commands
    assert any("context.defer" in line for line in commands) and any("curl" in line for line in commands)


def test_the_web_adapters_are_documented_as_the_code_says() -> None:
    # Their docstrings and signatures, written out on the API page: mkdocstrings cannot show `asgi` and `wsgi` itself,
    # since each shares its name with a submodule of lambda_runtime.web.
    page = (ROOT / "docs" / "reference" / "api.md").read_text()
    for adapter in (asgi, wsgi):
        doc = inspect.getdoc(adapter)
        assert doc and doc in page, f"{adapter.__name__}'s docstring is not on the API page"
        shown = re.search(rf"^{adapter.__name__}\((.*)\)$", page, re.M)
        assert shown is not None, f"no signature of {adapter.__name__} on the API page"
        parameters = [p for p in inspect.signature(adapter).parameters.values() if p.kind is not p.VAR_KEYWORD]
        written = [part.strip() for part in shown.group(1).split(",") if part.strip() != "*"]
        assert [part.split("=")[0] for part in written] == [p.name for p in parameters]


def test_readmes_links_into_the_docs_lead_to_pages_that_exist() -> None:
    # mkdocs --strict checks the links between the site's pages; README is not one of them.
    links = re.findall(r"\]\(([^)\s]+)\)", (ROOT / "README.md").read_text())
    local = [link for link in links if not link.startswith(("http://", "https://", "#"))]
    assert len(local) >= 10, local
    for link in local:
        assert (ROOT / link.split("#")[0]).is_file(), f"README links to {link}, which does not exist"

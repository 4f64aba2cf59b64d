"""The background-tasks example answers both a direct invoke and a function URL's HTTP event."""

from __future__ import annotations

import json
from pathlib import Path

EXAMPLE = Path(__file__).parent.parent / "examples" / "background_tasks"


def test_direct_and_function_url_events(serve):
    emu = serve("app.handler", task_root=str(EXAMPLE), env={"BACKGROUND_WORK_SECONDS": "0.1"})
    assert emu.invoke({"message": "direct"}).json() == {"echoedMessage": "direct"}
    url_event = {"rawPath": "/", "body": json.dumps({"message": "via url"}), "isBase64Encoded": False}
    assert emu.invoke(url_event).json() == {"echoedMessage": "via url"}
    emu.wait_for_output("Background work completed for 'via url'")

"""examples/fastapi_app: the order API answers at once; the confirmation e-mail is sent after the response."""

from __future__ import annotations

import json
from pathlib import Path

EXAMPLE = Path(__file__).parent.parent / "examples" / "fastapi_app"


def test_order_is_answered_before_the_email_and_the_email_is_sent_before_next(serve):
    emu = serve("app.handler", task_root=str(EXAMPLE), env={"EMAIL_SECONDS": "0.2"})
    created = emu.invoke(json.loads((EXAMPLE / "events" / "create_order.json").read_text())).json()
    assert created["statusCode"] == 201
    assert json.loads(created["body"]) == {"id": 1, "status": "accepted"}
    (record,) = emu.wait_for_records(1)
    output = emu.invocation_output(record["request_id"])
    assert "Confirmation e-mail sent for order 1" in output  # within the same invocation, before /next
    assert "Deferred jobs: 1 ok" in output
    fetched = emu.invoke(json.loads((EXAMPLE / "events" / "get_order.json").read_text())).json()
    order = json.loads(fetched["body"])
    assert order["confirmation_sent"] is True and order["email"] == "ada@example.com"


def test_order_read_during_the_email_goes_to_another_environment_that_never_saw_it(serve):
    # Lambda's way (and the emulator's by default): an environment busy with a background task takes no other event,
    # so a request that comes meanwhile gets a fresh environment and that environment's (empty) memory. The documented
    # walk-through serves one environment with a queue to read the order back; a deployed function needs a database.
    emu = serve(
        "app.handler",
        task_root=str(EXAMPLE),
        env={"EMAIL_SECONDS": "60"},  # busy far longer than the next request takes to arrive
        timeout=120,
        concurrency=10,
        queue_size=0,
    )
    created = emu.invoke(json.loads((EXAMPLE / "events" / "create_order.json").read_text())).json()
    assert created["statusCode"] == 201
    fetched = emu.invoke(json.loads((EXAMPLE / "events" / "get_order.json").read_text())).json()
    assert fetched["statusCode"] == 404 and json.loads(fetched["body"]) == {"detail": "no such order"}
    (record,) = emu.wait_for_records(1)  # the GET's: the POST's invocation is still sending its e-mail
    assert record["environment"] == 2

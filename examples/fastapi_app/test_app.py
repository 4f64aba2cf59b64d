"""The example's own tests: `pytest examples/fastapi_app` (with `pip install -r requirements.txt`)."""

import json
from pathlib import Path

import app

EVENTS = Path(__file__).parent / "events"


def test_an_order_is_accepted_at_once_and_confirmed_after_the_response(lambda_function, monkeypatch):
    monkeypatch.setattr(app, "EMAIL_SECONDS", 0)
    function = lambda_function(app.handler)
    created = function.invoke(json.loads((EVENTS / "create_order.json").read_text()))
    assert created.result["statusCode"] == 201
    order = json.loads(created.result["body"])
    assert order["status"] == "accepted"
    assert list(created.outcomes.values()) == ["ok"]  # FastAPI's background task ran as a deferred job
    assert f"Confirmation e-mail sent for order {order['id']}" in created.logs
    assert app.orders[order["id"]]["confirmation_sent"] is True

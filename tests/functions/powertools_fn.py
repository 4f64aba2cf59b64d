"""Powertools for AWS Lambda (Python) handlers, run by both runtimes in the differential test."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="payments")
metrics = Metrics(namespace="Shop", service="payments")
rest = APIGatewayRestResolver()
http = APIGatewayHttpResolver()


@logger.inject_lambda_context
def logged(event, context):
    logger.info("charging", extra={"amount": 42})
    try:
        {}["card"]
    except KeyError:
        logger.exception("card lookup failed")
    return "ok"


@metrics.log_metrics
def measured(event, context):
    metrics.add_metric(name="Orders", unit=MetricUnit.Count, value=3)
    metrics.add_dimension(name="Region", value="eu")
    return "ok"


@rest.get("/orders/<order_id>")
def get_order(order_id):
    return {"order": order_id, "query": rest.current_event.get_query_string_value("q", "")}


@rest.post("/orders")
def post_order():
    return {"created": rest.current_event.json_body}, 201


def rest_api(event, context):
    return rest.resolve(event, context)


@http.get("/ping")
def ping():
    return {"pong": True}


def http_api(event, context):
    return http.resolve(event, context)

"""One Powertools Metrics object, flushed after the deferred jobs: the recipe of docs/concepts/post-response.md."""

from aws_lambda_powertools import Metrics

import lambda_runtime

metrics = Metrics(namespace="LambdaRuntimeTests", service="orders")


@lambda_runtime.after_jobs
def flush_deferred_metrics():
    # @metrics.log_metrics flushed when the handler returned; what deferred jobs recorded since goes out now,
    # within the same invocation, before the environment is frozen.
    if metrics.metric_set:
        metrics.flush_metrics()

"""Hand-off: deferred work that must not be lost goes to Lambda's own async queue as a signed Event invocation.

- `registry`: `@job` registers the functions an envelope may name (an allow-list, never an import path);
- `envelope`: JSON envelopes signed with HMAC-SHA256, bound to a function, expiring, counting hops;
- `send`: checks and seals a hand-off at the call, then sends it with boto3 (imported on first use);
- `receive`: recognises an envelope before the handler sees it and runs its job, or refuses it;
- `current`: `current_hand_off()`, the job id and hop a handed-off job runs under.
"""

from lambda_runtime.handoff.current import HandOff, current_hand_off
from lambda_runtime.handoff.registry import job

__all__ = ["HandOff", "current_hand_off", "job"]

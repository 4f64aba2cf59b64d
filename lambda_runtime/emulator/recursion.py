"""What Lambda checks on an Invoke that the hand-off relies on: the caller's permission, and recursive loops.

Recursive loop detection (https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html; the AWS Compute
blog "Detecting and stopping recursive loops in AWS Lambda functions"): Lambda tracks a chain of invocations through
the X-Ray trace header and "drops requests after exceeding 16 invocations": a synchronous caller gets
``RecursiveInvocationException``, an ``Event`` goes to the on-failure destination. Lambda's own lineage field is
internal; the emulator models it as ``Lineage=<tag>:<count>`` written into the trace header of an invocation the
function makes (its caller's own header is passed on verbatim), where ``tag`` names the function and ``count`` the
invocations of the chain so far. A runtime that passes on the trace header it was given (``Lambda-Runtime-Trace-Id``)
continues the chain; one that drops it starts a new one, as on Lambda.

Permissions: the emulator gives the runtime the credentials of an execution role (``ROLE_ACCESS_KEY_ID``). That
role may invoke the function the emulator serves; invoking any other name is refused as IAM refuses it,
``AccessDeniedException``. Other callers (a developer's own credentials) still get ``ResourceNotFoundException``.
"""

from __future__ import annotations

import hashlib
import re

#: Lambda stops the invocation that would exceed this many in one chain.
MAX_CHAIN = 16
#: The execution role's credentials, as Lambda sets them in the function's environment (fake, local only).
ROLE_ACCESS_KEY_ID = "ASIAEMULATORFUNCTIONROLE"
ROLE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": ROLE_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": "emulator-function-role-secret",
    "AWS_SESSION_TOKEN": "emulator-function-role-session",
}
_LINEAGE = re.compile(r";?Lineage=([0-9a-f]{8}):(\d+)")
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")


def lineage_tag(function_arn: str) -> str:
    return hashlib.sha256(function_arn.encode()).hexdigest()[:8]


def chained(trace_header: str, function_arn: str, from_function: bool = True) -> tuple[str, int]:
    """The trace header an invocation of ``function_arn`` runs with, and its place in its chain (1: first).

    An invocation made by the function (``from_function``) continues the chain of the header it carries and gets
    the lineage written into its header; another caller's header is passed on verbatim (a lineage in it counts).
    """
    tag = lineage_tag(function_arn)
    found = _LINEAGE.search(trace_header)
    so_far = int(found.group(2)) if found is not None and found.group(1) == tag else 0
    if not from_function:
        return trace_header, so_far + 1
    count = max(so_far, 1) + 1  # a header without a lineage is the first invocation's: this one is the second
    return f"{_LINEAGE.sub('', trace_header)};Lineage={tag}:{count}", count


def role_caller(authorization: str | None) -> bool:
    """Whether a request was signed with the execution role's credentials, i.e. comes from the function."""
    found = _CREDENTIAL.search(authorization or "")
    return found is not None and found.group(1) == ROLE_ACCESS_KEY_ID


def access_denied_message(region: str, account: str, function_name: str, target: str) -> str:
    """IAM's wording for an identity policy that does not allow ``lambda:InvokeFunction`` on ``target``."""
    return (
        f"User: arn:aws:sts::{account}:assumed-role/{function_name}-role/{function_name} is not authorized to "
        f"perform: lambda:InvokeFunction on resource: arn:aws:lambda:{region}:{account}:function:{target} because "
        "no identity-based policy allows the lambda:InvokeFunction action"
    )


RECURSION_MESSAGE = (
    "Lambda detected that the function is part of a recursive loop ({count} invocations in one chain, more than "
    f"{MAX_CHAIN}) and stopped this invocation"
)

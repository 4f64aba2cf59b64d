"""The process's shape and its end: one invocation at a time, several at once (Managed Instances), a supervisor,
a restart in place, and how the process exits.

- `managed`: Lambda Managed Instances, several invocations at once in one process;
- `supervisor`: the parent that restarts a runtime that died;
- `restart`: replacing the process image in place, keeping the `/next` already sent;
- `exits`: one rule for every exit: what finishes, what is named, how long it may take.

`lambda_runtime.main` composes these modes; nothing here is imported by the layers below.
"""

"""The runtime's life beyond the invocation loop: shutdown (SIGTERM, hooks, the internal extension that makes Lambda
send SIGTERM) and SnapStart (before-snapshot and after-restore hooks).

- `shutdown`: `on_shutdown(fn)` hooks and the graceful shutdown within Lambda's budget;
- `extension`: the opt-in no-op internal extension (Extensions API) that makes Lambda send SIGTERM at all.
"""

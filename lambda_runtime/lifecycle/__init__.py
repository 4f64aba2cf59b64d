"""The runtime's life beyond the invocation loop: shutdown (SIGTERM, hooks, the internal extension that makes Lambda
send SIGTERM) and SnapStart (before-snapshot and after-restore hooks).

- `shutdown`: `on_shutdown(fn)` hooks and the graceful shutdown within Lambda's budget;
- `extension`: the opt-in no-op internal extension (Extensions API) that makes Lambda send SIGTERM at all;
- `snapstart`: the before-snapshot hooks, `/runtime/restore/next`, the after-restore hooks;
- `startup`: which of these run between loading the handler and the first `/next`.
"""

"""How bytes reach Lambda: the Runtime API and the Extensions API on the wire.

- `invocation`: what `/next` delivered (request id, event bytes, headers);
- `client`: `/next`, the response, the error, the stream, the init error;
- `transport`: the keep-alive HTTP adapter under the client;
- `retries`: the one retry policy for transient Runtime API failures;
- `extensions`: the opt-in internal extension that makes Lambda send SIGTERM.

Imports nothing of the runtime above it: no jobs, no invocation loop, no logging setup.
"""

"""What happens to one event: from `/next` to the posted response.

- `loop`: the invocation loop (next, call the handler, post, the post-response phase);
- `context`: the `context` object handed to handlers, with `defer()`;
- `handler`: loading `module.function` from the task root;
- `payloads`: event bytes in, result and error bytes out;
- `streaming`: `StreamingResponse` and posting a streamed body;
- `xray`: the X-Ray error cause.
"""

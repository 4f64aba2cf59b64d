"""Where log records and printed lines go: Lambda's Text and JSON formats, the telemetry descriptor, whole lines.

- `records`: the request id in a `ContextVar`, the Text format, one record per line;
- `json_format`: the JSON format (`AWS_LAMBDA_LOG_FORMAT=JSON`);
- `telemetry`: records as frames on Lambda's telemetry descriptor;
- `stdio`: what the function prints reaches the log in whole lines;
- `configure`: which of these the root logger uses (`configure_logging`).
"""

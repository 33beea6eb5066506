"""Lookout's one-machine dev stack: the embedded broker, Postgres and S3, the demo,
and the `lookout` CLI. Service images never install it."""

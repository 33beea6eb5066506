"""The alert consumer: reads `health.incidents.v1` and hands each incident to people."""

"""The one-machine stack: PostgreSQL and a Kafka-protocol broker from wheels."""

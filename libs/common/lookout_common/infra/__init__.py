"""Lookout's runtime infrastructure: settings, Postgres, Kafka, logging, metrics,
leadership, auth, supervision and the migrations runner."""

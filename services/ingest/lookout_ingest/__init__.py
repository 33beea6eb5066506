"""Lookout ingest: Segment-compatible tracking API that publishes events to Kafka"""

"""Lookout analytics aggregator: Kafka batches into raw events and rollups in Postgres"""

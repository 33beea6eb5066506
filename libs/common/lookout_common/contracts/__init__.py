"""Lookout's message and API contracts: events, topics, and the models services exchange."""

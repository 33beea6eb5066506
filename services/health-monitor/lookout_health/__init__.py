"""Lookout health monitor: probes dependencies, keeps history, opens and resolves incidents"""

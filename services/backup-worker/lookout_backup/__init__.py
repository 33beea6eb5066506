"""Lookout backup worker: exports collections to object storage and restores them"""

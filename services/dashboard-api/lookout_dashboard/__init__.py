"""Lookout dashboard API: metrics, health and backups for admins, and the single-page app"""

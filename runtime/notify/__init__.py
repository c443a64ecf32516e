"""Telling people: in-app notices, and email and webhook deliveries queued in an outbox for the worker."""

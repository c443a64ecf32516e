"""Observability: readiness, Prometheus metrics, structured logs with request ids."""

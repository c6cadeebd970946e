"""The HTTP edge: JSON API under /api/v1, the OpenAPI document, /healthz, /metrics and the pages."""

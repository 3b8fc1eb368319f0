"""The HTTP API (FastAPI): /api/v1/..., OpenAPI at /docs."""

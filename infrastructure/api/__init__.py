"""The HTTP API for the agents' services (FastAPI on uvicorn)."""

"""The dashboard and JSON API served by ``nianbao serve`` (FastAPI, server-rendered templates)."""

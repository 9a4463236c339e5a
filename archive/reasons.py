"""What groups failures, wherever they are counted: the crawl's figures and the dashboard's groups alike."""

from __future__ import annotations


def reason_class(reason: str) -> str:
    """What groups failures: ``HTTP 404``, ``timed out``, ``not archived`` (details after a colon dropped)."""
    return reason.split(":", 1)[0].replace("/", " ").strip()[:160] or "unknown"

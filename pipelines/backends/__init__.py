"""One exporter and one runner per runtime, behind a single Runner protocol (see base.py)."""

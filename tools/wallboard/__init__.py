"""A web wallboard for the live and windowed metrics (``python -m tools.wallboard``)."""

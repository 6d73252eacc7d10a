"""What an operator sees of a running tracker: logs (``logs``), Prometheus metrics
(``metrics``, ``store_metrics``) and the HTTP layer that feeds both (``http``)."""

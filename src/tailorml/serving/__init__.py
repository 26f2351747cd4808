"""HTTP serving: the model server, dynamic micro-batching and Prometheus metrics."""

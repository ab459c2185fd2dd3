"""Device drivers and transports. Knows nothing of recipes or the engine."""

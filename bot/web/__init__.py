"""The bot's HTTP side: webhook endpoint, /healthz, /metrics."""

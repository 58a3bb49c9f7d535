"""Assistant reads, one module per concern (services write, these read)."""

"""Community services, one module per feature (`chat`: live course chat)."""

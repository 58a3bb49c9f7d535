"""Community reads, one module per feature (`discussions`: lesson threads and replies)."""

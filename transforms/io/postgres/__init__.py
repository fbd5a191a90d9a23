"""PostgreSQL: the upserting record sink."""

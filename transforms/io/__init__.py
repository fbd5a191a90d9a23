"""transforms/io."""

"""Detection harness."""

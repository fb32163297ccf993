"""Analyses that measure a property of the library rather than its speed."""

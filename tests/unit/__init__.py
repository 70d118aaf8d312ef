"""Unit tests: pure rules and declarations, no services."""

"""Test plumbing: a real PostgreSQL, template databases, processes under test."""

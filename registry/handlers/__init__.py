"""HTTP handlers, one module per domain; each parses, authorizes, and calls its store."""

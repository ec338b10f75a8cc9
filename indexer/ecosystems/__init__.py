"""Manifest parsers, one module per ecosystem, and the table that says which file goes where."""

"""Wharf's indexer: reads repositories and fills the package index (`pkgs`, `global_dep`)."""

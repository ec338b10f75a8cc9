"""Wharf's registry service: the HTTP application, its stores and its command line."""

__version__ = "0.1.0"

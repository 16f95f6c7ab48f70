"""Helpers shared by test folders: covering arrays, the in-process CLI, the small search spaces."""

"""Shared code of the People API: one Lambda layer for every function."""

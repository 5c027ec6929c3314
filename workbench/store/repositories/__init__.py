"""Repositories: take and return workbench.core objects; the rest of the app writes no SQL."""

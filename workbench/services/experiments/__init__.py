"""Experiments: set up arms, let the evaluation lab score them on the same cases, write a report."""

"""Evaluation: every artifact in every runtime against the original model."""

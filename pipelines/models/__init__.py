"""Bundled reference networks: each exists as a Keras function and a PyTorch twin module."""

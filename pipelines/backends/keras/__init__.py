"""Keras backend: the original TensorFlow model, restored from its checkpoint."""

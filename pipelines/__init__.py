"""ckpt2cpp: the library behind the DVC stages (see README.md)."""

import os

# TensorFlow prints several lines of start-up chatter at INFO level; keep warnings and errors.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

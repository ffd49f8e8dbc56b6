"""LiteRT backend: TFLite conversion in every quantization mode, and its runner."""

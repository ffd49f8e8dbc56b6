"""PyTorch backend: TorchScript and AOTInductor exports, their loaders and runners."""

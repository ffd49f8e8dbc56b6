"""TensorFlow backend: frozen GraphDef and SavedModel exports, their loaders and runners."""

"""DVC stage `savedmodel`: TF checkpoint -> SavedModel artifacts/savedmodel/model (+ model.json),
verified against the checkpoint model on the evaluation inputs."""

from pipelines import data, paths, sidecar
from pipelines.atomic import atomic_path
from pipelines.config import Config
from pipelines.stage import run_stage


def main(cfg: Config) -> None:
    with atomic_path(paths.SAVEDMODEL) as out:
        out.mkdir()
        artifact = out / paths.SAVEDMODEL_DIR.name
        if not cfg.model.uses_tf:
            sidecar.write_skipped(artifact, "tf is not in model.frameworks")
            return
        from pipelines.backends.keras import loader
        from pipelines.backends.tf import export
        from pipelines.reference import predict_keras

        keras_model = loader.restore(cfg.model, paths.TF_CHECKPOINT)
        inputs, _ = data.load_eval(paths.DATASET)
        export.savedmodel(
            keras_model, cfg.model, artifact, inputs, predict_keras(keras_model, inputs)
        )


if __name__ == "__main__":
    run_stage("savedmodel", main)

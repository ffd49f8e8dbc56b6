"""DVC stage `savedmodel`: TF checkpoint -> SavedModel artifacts/savedmodel/model (+ model.json),
verified against the checkpoint model on the evaluation inputs."""

from pipelines import paths
from pipelines.backends.tf import export
from pipelines.config import Config, Framework
from pipelines.reference import export_keras
from pipelines.stage import run_stage, write_artifact


def main(cfg: Config) -> None:
    write_artifact(
        cfg,
        paths.SAVEDMODEL,
        paths.SAVEDMODEL_DIR.name,
        Framework.tf,
        lambda artifact: export_keras(cfg.model, export.savedmodel, artifact),
    )


if __name__ == "__main__":
    run_stage("savedmodel", main)

"""DVC stage `freeze`: TF checkpoint -> frozen GraphDef artifacts/frozen/model.pb (+ model.json)."""

from pipelines import paths
from pipelines.backends.tf import export
from pipelines.config import Config, Framework
from pipelines.reference import export_keras
from pipelines.stage import run_stage, write_artifact


def main(cfg: Config) -> None:
    write_artifact(
        cfg,
        paths.FROZEN,
        paths.FROZEN_GRAPH.name,
        Framework.tf,
        lambda artifact: export_keras(cfg.model, export.freeze, artifact),
    )


if __name__ == "__main__":
    run_stage("freeze", main)

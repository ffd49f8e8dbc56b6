"""Hydra imports every module under `hydra_plugins` when it starts, DVC's composition included;
registering the schema here lets conf/config.yaml name it in its defaults list."""

from pipelines.config import register_configs

register_configs()

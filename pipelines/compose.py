"""Compose conf/ into params.yaml, the file every DVC stage reads.

    python -m pipelines.compose [override ...]      # e.g. model=digits quantize.modes=[int8]

`dvc exp run -S ...` does the same composition itself; `dvc repro` does not, so run this after
editing conf/. The result is validated before it is written; a bad value stops with one line
(CKPT2CPP_DEBUG=1 adds the traceback of Hydra's or OmegaConf's own error).
"""

import re
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pipelines.atomic import atomic_path
from pipelines.config import ConfigError, one_line, register_configs, validate
from pipelines.errors import report

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


def compose(overrides: list[str] | tuple[str, ...] = (), conf_dir: Path = CONF_DIR) -> DictConfig:
    """Compose and resolve conf/ with Hydra overrides, exactly as `dvc exp run -S` does."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException

    register_configs()
    try:
        if GlobalHydra.instance().is_initialized():  # inside a Hydra app (the sweep)
            cfg = hydra_compose(config_name="config", overrides=list(overrides))
        else:
            with initialize_config_dir(str(conf_dir.resolve()), version_base=None):
                cfg = hydra_compose(config_name="config", overrides=list(overrides))
    except HydraException as error:
        raise ConfigError(describe_hydra_error(error)) from error
    OmegaConf.resolve(cfg)
    return cfg


def describe_hydra_error(error: Exception) -> str:
    """Reduce a Hydra composition error to one line: the key, the bad value, what is allowed."""
    cause = error.__cause__
    if isinstance(cause, OmegaConfBaseException):
        return one_line(cause)
    text = str(error)
    missing = re.search(r"Could not find '([^'/]+)/([^']+)'", text)
    if missing:
        group, option = missing.groups()
        options = re.findall(r"^\t(\S+)$", text.split("Config search path")[0], re.MULTILINE)
        return f"{group}={option}: no such option; available: {', '.join(options)}"
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def to_params_yaml(cfg: DictConfig) -> str:
    """Serialise a composed config the way DVC's Hydra integration writes params.yaml."""
    return OmegaConf.to_yaml(cfg)


def write_params(overrides: list[str], out: Path = Path("params.yaml")) -> None:
    """Compose, validate, and atomically write params.yaml."""
    cfg = compose(overrides)
    validate(cfg)
    with atomic_path(out) as tmp:
        tmp.write_text(to_params_yaml(cfg), encoding="utf-8")


def main() -> None:
    try:
        write_params(sys.argv[1:])
    except ConfigError as error:
        report(error)
        sys.exit(1)
    print("wrote params.yaml")


if __name__ == "__main__":
    main()

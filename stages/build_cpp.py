"""DVC stage `build_cpp`: cpp/ -> build/bin/{torch,tf,litert}_runner (+ build.json).

CMake's own build tree stays in build/cmake (not a DVC output) so a touched source file
recompiles only the program that uses it.
"""

from pathlib import Path

from pipelines import paths
from pipelines.atomic import atomic_path
from pipelines.backends.cpp.build import build
from pipelines.config import Config
from pipelines.stage import run_stage


def main(cfg: Config) -> None:
    with atomic_path(paths.CPP_BIN) as out:
        build(cfg.cpp, Path("cpp"), paths.CMAKE_DIR, out)


if __name__ == "__main__":
    run_stage("build_cpp", main)

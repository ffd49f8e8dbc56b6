"""DVC stage `build_cpp`: cpp/ -> build/bin/{torch,tf,litert}_runner and build/bin/build.json.

CMake's own build tree stays in build/cmake (not a DVC output) so a touched source file
recompiles only the program that uses it.
"""

from pathlib import Path

from pipelines import paths
from pipelines.atomic import atomic_outputs
from pipelines.backends.cpp.build import build, output_files
from pipelines.config import Config
from pipelines.stage import run_stage


def main(cfg: Config) -> None:
    with atomic_outputs(*output_files(paths.CPP_BIN)) as outputs:
        build(cfg.cpp, Path("cpp"), paths.CMAKE_DIR, outputs)


if __name__ == "__main__":
    run_stage("build_cpp", main)

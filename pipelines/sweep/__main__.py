"""`python -m pipelines.sweep -m key=a,b ...`: the sweep's Hydra app."""

from pipelines.sweep.app import main

main()

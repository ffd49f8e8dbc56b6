"""Sweep the pipeline with Hydra's multirun: one DVC experiment per job, jobs in parallel.

    python -m pipelines.sweep -m model=sr,digits evaluate.threads=1,2 [hydra.launcher.n_jobs=2]

- `app`: the Hydra app; each job runs one experiment and leaves its result.json.
- `experiments`: run, list and remove DVC experiments (`dvc exp run --temp`, or a fresh clone
  per job for launchers that run jobs on other machines: `sweep.workspace=clone`).
- `plan`: which stages several jobs share, from DVC's own resolution of dvc.yaml.
- `callback`: around the jobs: build the shared stages first, write the report last.
- `report` and `pareto`: reports/sweep.html and reports/sweep.csv.
"""

"""MLflow on SQLite logging, per pipeline step, 10 params and the schema dict.

Run by ``puts.py`` with an interpreter that has mlflow-skinny; prints one JSON
line.  Each cycle of five steps is one MLflow run (a pipeline run), each step
logging its own params and the schema as a JSON artifact: the cheapest faithful
way to record the same content.
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import time
from pathlib import Path

MODULES = ("Loader", "Splitter", "Preprocessor", "Synthesizer", "Evaluator")


def main() -> None:
    folder = Path(sys.argv[1]).resolve()
    steps = int(sys.argv[2])
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    import mlflow

    schema = json.loads((folder / "schema.json").read_text())
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = mlflow.create_experiment(
        "bench", artifact_location=(folder / "artifacts").as_uri()
    )
    # Setting up (above) is not timed: the caller starts this process early and
    # says "go" on stdin once nothing else of the benchmark is running.
    print("ready", flush=True)
    sys.stdin.readline()
    latencies = []
    for step in range(steps + 5):
        module = MODULES[step % len(MODULES)]
        if step % len(MODULES) == 0:
            # One MLflow run per pipeline run (a cycle of five steps): MLflow's cost
            # per step grows with the params a run already holds, so long runs
            # would flatter the comparison.  Starting and ending runs is not timed.
            if step:
                mlflow.end_run()
            mlflow.start_run(experiment_id=experiment)
        params = {f"{module}.p{j}": f"value-{j}-{step}" for j in range(10)}
        t0 = time.perf_counter_ns()
        mlflow.log_params(params)
        mlflow.log_dict(schema, f"{module}/schema.json")
        elapsed = time.perf_counter_ns() - t0
        if step >= 5:  # the first calls create tables and folders
            latencies.append(elapsed)
    mlflow.end_run()
    print(json.dumps({
        "mlflow_step_us_median": round(statistics.median(latencies) / 1000.0, 1),
        "steps": steps,
        "version": mlflow.__version__,
    }))


if __name__ == "__main__":
    main()

"""MLflow on SQLite as a step server: one step per line asked for on stdin.

Run by ``mlflow_compare.py`` with an interpreter that has mlflow-skinny.  It
sets MLflow up, prints ``ready``, then for each line ``step N`` logs that
step (10 params and the schema as a JSON artifact, the cheapest faithful way
to record what a put records) and prints the nanoseconds it took; ``end``
ends the last run and prints MLflow's version.  Each cycle of five steps is
one MLflow run (a pipeline run): MLflow's cost per step grows with the params
a run already holds, so one long run would flatter the comparison.  Starting
and ending runs is not timed.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

MODULES = ("Loader", "Splitter", "Preprocessor", "Synthesizer", "Evaluator")


def main() -> None:
    folder = Path(sys.argv[1]).resolve()
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    import mlflow

    schema = json.loads((folder / "schema.json").read_text())
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = mlflow.create_experiment(
        "bench", artifact_location=(folder / "artifacts").as_uri()
    )
    print("ready", flush=True)
    running = False
    for line in sys.stdin:
        command = line.split()
        if command == ["end"]:
            break
        step = int(command[1])
        module = MODULES[step % len(MODULES)]
        if step % len(MODULES) == 0:
            if running:
                mlflow.end_run()
            mlflow.start_run(experiment_id=experiment)
            running = True
        params = {f"{module}.p{j}": f"value-{j}-{step}" for j in range(10)}
        t0 = time.perf_counter_ns()
        mlflow.log_params(params)
        mlflow.log_dict(schema, f"{module}/schema.json")
        print(time.perf_counter_ns() - t0, flush=True)
    if running:
        mlflow.end_run()
    print(json.dumps({"version": mlflow.__version__}), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Loads an `hpsweep export --optuna` file with Optuna's JournalStorage and checks it against the
sweep's leaderboard.csv: every trial present once, with its state, parameters and objective values.

    pip install optuna
    python3 scripts/check_optuna_export.py results/demo /tmp/demo-optuna.log
"""
import csv, json, math, sys
from pathlib import Path

import optuna

results, log = Path(sys.argv[1]), sys.argv[2]
try:
    backend = optuna.storages.journal.JournalFileBackend(log)
except AttributeError:  # Optuna < 4
    backend = optuna.storages.JournalFileStorage(log)
storage = optuna.storages.JournalStorage(backend)
summaries = optuna.get_all_study_summaries(storage)
assert len(summaries) == 1, summaries
study = optuna.load_study(study_name=summaries[0].study_name, storage=storage)
rows = {r["trial"]: r for r in csv.DictReader(open(results / "leaderboard.csv"))}
trials = {t.user_attrs["hpsweep_trial"]: t for t in study.trials}
assert set(trials) == set(rows), (set(trials) ^ set(rows))
states = {"finished": "COMPLETE", "pruned": "PRUNED", "failed": "FAIL", "diverged": "FAIL", "rejected": "FAIL",
          "planned": "RUNNING", "paused": "RUNNING"}
objectives = [o["metric"] for o in json.load(open(results / "summary.json"))["objectives"]]
for trial_id, row in rows.items():
    t = trials[trial_id]
    assert t.state.name == states[row["status"]], (trial_id, t.state, row["status"])
    assert t.params["method"] == row["method"], (trial_id, t.params, row["method"])
    for name, value in t.params.items():
        if name == "method":
            continue
        expected = row[name]
        assert math.isclose(float(value), float(expected), rel_tol=1e-12) if expected.replace(".", "").replace("e-", "").isdigit() else str(value) == expected, (trial_id, name, value, expected)
    if t.state.name == "COMPLETE":
        for value, name in zip(t.values, objectives):
            assert math.isclose(value, float(row[name]), rel_tol=1e-6), (trial_id, name, value, row[name])
print(f"{log}: study '{study.study_name}', directions {[d.name for d in study.directions]}, {len(study.trials)} trials "
      f"({sum(t.state.name == 'COMPLETE' for t in study.trials)} complete, {sum(t.state.name == 'PRUNED' for t in study.trials)} pruned): "
      f"every trial, state, parameter and value matches {results / 'leaderboard.csv'}; best trials: {[t.user_attrs['hpsweep_trial'] for t in study.best_trials]}")

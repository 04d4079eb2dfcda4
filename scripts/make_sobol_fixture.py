#!/usr/bin/env python3
"""Writes Tests/Fixtures/sobol16.json: the first 256 points of scipy's unscrambled 16-dimensional
Sobol sequence, the independent reference for hpsweep's SobolSequence (needs scipy)."""
import json, pathlib
from scipy.stats import qmc

points = qmc.Sobol(d=16, scramble=False).random(256)
out = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "sobol16.json"
out.write_text(json.dumps({"generator": "scipy.stats.qmc.Sobol(d=16, scramble=False)", "points": points.tolist()}))
print(f"wrote {out}")

#!/usr/bin/env python3
"""Writes the small seed corpora of the fuzz targets into Tests/Fuzz/corpus/<target>/ (numpy only)."""
import io, json, pathlib, struct, zipfile
import numpy as np

root = pathlib.Path(__file__).resolve().parent.parent
out = root / "Tests" / "Fuzz" / "corpus"

def put(target, name, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())

def npy(array):
    buf = io.BytesIO(); np.save(buf, array); return buf.getvalue()

def safetensors(tensors):
    header, blobs, offset = {}, [], 0
    for name, (dtype, arr) in tensors.items():
        raw = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw); offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)

put("safetensors", "two.safetensors", safetensors({"a": ("F32", np.arange(6, dtype="<f4").reshape(2, 3)),
                                                   "b": ("F16", np.ones(4, dtype="<f2"))}))
put("npy", "labels.npy", npy(np.array([0, 1, 2, 1], dtype="<i8")))
put("npy", "images.npy", npy(np.arange(2 * 4 * 4 * 3, dtype="u1").reshape(2, 4, 4, 3)))
for method, name in [(zipfile.ZIP_STORED, "stored.npz"), (zipfile.ZIP_DEFLATED, "deflated.npz")]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr("w.npy", npy(np.arange(6, dtype="<f4").reshape(2, 3)))
        z.writestr("b.npy", npy(np.zeros(3, dtype="<f4")))
    put("npz", name, buf.getvalue())
put("vtab", "train800.txt", "images/train800/a.jpg 0\nimages/train800/b.png 3\nimages/train800/c.jpg 9\n")
put("sweep", "sweep.json", json.dumps({
    "name": "f", "backbone": {"random": "vit-tiny-test"},
    "data": {"format": "vtab", "root": ".", "task": "task", "classes": 10},
    "cache": {"dtype": "f16", "taps": [0, 2, "norm"], "token_policy": "cls"},
    "methods": {"last": {"rank": {"choice": [4, 8]}, "heads": 2}, "linear": {}},
    "space": {"lr": {"loguniform": [1e-4, 1e-1]}, "batch_size": {"int": [16, 64], "log": True}},
    "sampler": {"type": "tpe", "startup": 2, "generation_size": 2}, "trials": 4, "epochs": 3,
    "early_stopping": {"type": "pareto", "min_epochs": 1, "reduction_factor": 2},
    "objectives": ["val_acc", {"metric": "params", "direction": "minimize"}], "constraints": ["params <= 2e6"]}))
for header in (root / "Tests" / "Fixtures" / "python-cache").glob("header.json"):
    put("cache-header", "header.json", header.read_bytes())
    break
journal = [
    '{"event":"planned","generation":0,"config":0,"method":"last","params":{"lr":0.01,"decay":"cosine"},"seed":0,"trial_seed":42,"time":1,"trial":"t0","crc32":"00000000"}',
    '{"event":"finished","result":{"status":"finished","epochs_run":2,"best_epoch":1,"best_val_accuracy":0.5,"final_val_accuracy":0.5,"final_val_loss":"nan","history":[],"trainable_parameters":3,"training_flops":1,"working_memory_bytes":1,"train_seconds":1,"read_seconds":0},"time":2,"trial":"t0"}',
]
put("journal", "journal.jsonl", "\n".join(journal) + "\n")
put("leaderboard", "leaderboard.csv", "trial,method,status,seed,lr,rank,val_acc,params,train_seconds,pareto_rank\n"
    "t0,last,finished,0,0.01,8,0.81,13258,1.0,1\nt1,last,finished,1,\"0.01\",8,0.79,13258,1.0,1\nt2,linear,pruned,0,0.1,,0.3,970,0.1,\n")
print(f"wrote {sum(1 for _ in out.rglob('*') if _.is_file())} seed files under {out}")

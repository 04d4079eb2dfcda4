"""Makes sweeps/data/digits-suite/: four small related tasks in the VTAB-1k (NOAH/FacT) list-file
layout, for sweeps/suite-demo.json (a suite that runs here in minutes) and the warm-start measurement.

    pip install numpy pillow
    python3 scripts/make_suite_demo.py

Every task is made from the committed digits (sweeps/data/digits/*.npy, the UCI handwritten digits),
with the same splits: train800, val200, train800val200 (= the two, listing their files) and test (the
first 300 of the 797 test images, to keep the demo quick):

    digits           the digits as they are, 10 classes                    PNG
    digits_rotated   turned 90 degrees anticlockwise, 10 classes           PNG
    digits_inverted  dark on light (255 - x), 10 classes                   JPEG (quality 95)
    digits_parity    the digits as they are, labelled even (0) / odd (1)   PNG

The output is deterministic (no randomness; PIL's encoders write the same bytes for the same pixels).
"""
import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS = os.path.join(HERE, "..", "sweeps", "data", "digits")
OUT = os.path.join(HERE, "..", "sweeps", "data", "digits-suite")
TEST_COUNT = 300

TASKS = {
    "digits": (lambda x: x, lambda y: y, "png"),
    "digits_rotated": (lambda x: np.rot90(x).copy(), lambda y: y, "png"),
    "digits_inverted": (lambda x: 255 - x, lambda y: y, "jpg"),
    "digits_parity": (lambda x: x, lambda y: y % 2, "png"),
}


def load(split):
    images = np.load(os.path.join(DIGITS, f"{split}_images.npy"))
    labels = np.load(os.path.join(DIGITS, f"{split}_labels.npy"))
    return images, labels


def write_split(task_dir, split, images, labels, transform, relabel, ext):
    folder = os.path.join(task_dir, "images", split)
    os.makedirs(folder, exist_ok=True)
    lines = []
    for i, (image, label) in enumerate(zip(images, labels)):
        name = f"images/{split}/{i:04d}.{ext}"
        picture = Image.fromarray(np.ascontiguousarray(transform(image)).astype(np.uint8), mode="L")
        if ext == "jpg":
            picture.save(os.path.join(task_dir, name), quality=95)
        else:
            picture.save(os.path.join(task_dir, name), optimize=True)
        lines.append(f"{name} {int(relabel(int(label)))}")
    return lines


def main():
    splits = {name: load(name) for name in ["train800", "val200", "test"]}
    test_images, test_labels = splits["test"]
    splits["test"] = (test_images[:TEST_COUNT], test_labels[:TEST_COUNT])
    for task, (transform, relabel, ext) in TASKS.items():
        task_dir = os.path.join(OUT, task)
        listed = {}
        for split, (images, labels) in splits.items():
            listed[split] = write_split(task_dir, split, images, labels, transform, relabel, ext)
        listed["train800val200"] = listed["train800"] + listed["val200"]
        for split, lines in listed.items():
            with open(os.path.join(task_dir, f"{split}.txt"), "w") as f:
                f.write("\n".join(lines) + "\n")
        print(task, {split: len(lines) for split, lines in listed.items()})
    with open(os.path.join(OUT, "LICENSE.md"), "w") as f:
        f.write("""# Digits suite (made from the UCI handwritten digits)

Made by `scripts/make_suite_demo.py` from sweeps/data/digits (scikit-learn's copy of the UCI
"Optical Recognition of Handwritten Digits" data set, E. Alpaydin, C. Kaynak, 1998,
https://archive.ics.uci.edu/dataset/80 , licensed under Creative Commons Attribution 4.0 (CC BY 4.0)):
four tasks in the VTAB-1k list-file layout, the digits as they are, rotated, inverted and labelled
by parity.
""")


if __name__ == "__main__":
    main()

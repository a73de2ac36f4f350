"""Run a seed script block by block (blocks separated by '# %%' lines) with torch or ember.

    python run_blocks.py torch|ember SCRIPT

For ember only the import lines change (torch -> ember). Every block runs in one shared
namespace; a block that raises prints '!! ExceptionClass' and the next block still runs, so
blocks that fail on torch (the tutorials' typos) are compared by their exception class.
"""
import re
import sys
import traceback

IMPORT_RULES = [
    (r"^(\s*)import torch\.nn\.functional as (\w+)", r"\1import ember.nn.functional as \2"),
    (r"^(\s*)import torch\.nn as (\w+)", r"\1import ember.nn as \2"),
    (r"^(\s*)import torch\.optim as (\w+)", r"\1import ember.optim as \2"),
    (r"^(\s*)import torch$", r"\1import ember as torch"),
    (r"^(\s*)from torch(\.[\w.]+)? import ", r"\1from ember\2 import "),
]


def to_ember(src: str) -> str:
    out = []
    for line in src.splitlines():
        for pat, rep in IMPORT_RULES:
            line = re.sub(pat, rep, line)
        out.append(line)
    return "\n".join(out)


def main():
    lib, path = sys.argv[1], sys.argv[2]
    src = open(path, encoding="utf-8").read()
    if lib == "ember":
        src = to_ember(src)
    blocks = re.split(r"^# %%.*$", src, flags=re.M)
    # torch seeds its default generator non-deterministically at start-up; the harness (not
    # the seed code) seeds both libraries alike so that their random draws can be compared.
    __import__(lib).manual_seed(0)
    ns = {"__name__": "__seed__"}
    import warnings
    warnings.simplefilter("ignore")
    for i, block in enumerate(blocks):
        if not block.strip():
            continue
        print(f"## block {i}")
        try:
            exec(compile(block, f"{path}:block{i}", "exec"), ns)
        except Exception as e:  # noqa: BLE001
            print(f"!! {type(e).__name__}")
            if "-v" in sys.argv:
                traceback.print_exc()
        sys.stdout.flush()


if __name__ == "__main__":
    main()

import os
import sys

# One BLAS thread for the test run: on a busy 2-core machine OpenBLAS's second thread makes
# small GEMMs stall (the nn tests ran 26 s with two threads, under 5 s with one). Must be set
# before NumPy is imported. Benchmarks (benchmarks/) use each library's default threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, os.path.dirname(__file__))

# Hypothesis: the same examples on every run (CI must not go red on a newly drawn example);
# EMBER_HYPOTHESIS_RANDOM=1 explores fresh random examples instead.
from hypothesis import settings  # noqa: E402

settings.register_profile("ember", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("EMBER_HYPOTHESIS_RANDOM") else "ember")

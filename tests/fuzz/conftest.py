"""The fuzz suite: a bounded number of examples in CI; `FERROGRAD_FUZZ_EXAMPLES=2000 pytest tests/fuzz`
runs a longer campaign (see the README's development section)."""

import os
import pathlib
import sys

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(pathlib.Path(__file__).parent))

settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FERROGRAD_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("FERROGRAD_FUZZ_RANDOM") is None,  # CI: the same examples every run
)
settings.load_profile("fuzz")

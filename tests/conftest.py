"""Test-suite settings: Hypothesis draws a fixed sequence of examples in CI.

Locally each run explores new examples (and replays failures from ``.hypothesis/``); CI, on a
fresh clone without that database, uses ``derandomize`` so that a submission's result does
not depend on the luck of the draw.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

"""Test-session settings shared by every test module."""
from hypothesis import settings

# Deterministic property tests: the same examples on every run and machine, so a CI run cannot
# fail on an example no earlier run saw. Per-test @settings still choose max_examples.
settings.register_profile("dlnotes", derandomize=True, database=None, deadline=None)
settings.load_profile("dlnotes")

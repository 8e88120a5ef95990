"""jitbox benchmarks: each ``bench/bench_<name>.py`` has a ``main()`` that prints its measurements.

Run all with ``python -m bench`` (``make bench``) or some with ``python -m bench sim``. Benchmarks print ratios
against a named peer measured in the same run; they are not timed tests.
"""

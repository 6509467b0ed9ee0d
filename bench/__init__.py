"""Benchmarks (`make bench`): each module in this package with a ``run(argv)`` function prints its figures."""

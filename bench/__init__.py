"""Benchmarks: standalone scripts run by hand (see each script's docstring); not part of the site."""

"""Synthetic fleet data for demos, tests and benchmarks (`manage.py demo_fleet`)."""

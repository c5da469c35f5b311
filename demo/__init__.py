"""A synthetic fleet for demos, tests and benchmarks (`manage.py demo_fleet`): simulated
drives, their manifest lines and rendered camera videos. Pure functions of a seed; it
imports nothing of the catalog, which reads its output like any other manifest."""

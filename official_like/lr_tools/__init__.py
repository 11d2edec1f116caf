"""The learning-rate tools a user runs (`--mode=lr_preview`, `--mode=lr_find`).

Above `core`: they build a task and a trainer as a run does. The planning
they share with every run (values, lint, facts) is TensorFlow-free and lives
in `modeling/optimization`; the curve a run writes is `run/lr_plan`.
"""

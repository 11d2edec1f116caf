"""The run plumbing TFM does not have: what keeps a run safe, exact and self-describing.

Preemption and seeding, the model_dir lock and checks, the resumable input
position, and what every run writes about itself (the planned learning-rate
curve, HParams). Below `core`, which uses it; nothing here imports `core`.
"""

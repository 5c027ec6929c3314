"""What runs only in the trainer process (``python -m workbench.tuning.trainer``): the training
loop, the model with its LoRA layers (torch, transformers, peft), checkpoints, batching. The app
never imports this package (import-linter contract); it talks to the process through job files
and events (tuning/runner.py, tuning/job_run.py)."""

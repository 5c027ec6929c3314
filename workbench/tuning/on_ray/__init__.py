"""Tune jobs on a Ray cluster (Ray Train's TorchTrainer, data-parallel LoRA).

probe.py: is Ray installed, does an address answer (the app and ``workbench doctor``; no ray
import at app start). driver.py: the driver process, ``python -m workbench.tuning.on_ray JOB``,
which speaks the trainer process's protocol, so the app runs it like a local trainer.
worker.py: the function each Ray Train worker runs (the shared training step, a RayTeam).
channel.py: the actor that carries events up and the stop request down.
"""

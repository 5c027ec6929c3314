"""The job's channel between the driver and the Ray Train workers: an actor of the job.

Events go up (the chief worker pushes each trainer event, the driver takes them in order);
the stop request goes down (the driver sets it on cancel, the chief reads it every step and
the team agrees on it in the step's all-reduce). Workers also say who they are (rank, pid,
host, device): the job's provenance, and how a test finds a worker to kill. It takes no CPU,
so it never competes with the workers for a slot.
"""

from __future__ import annotations

import ray


@ray.remote(num_cpus=0)
class JobChannel:
    def __init__(self):
        self.lines: list[str] = []
        self.stop = False
        self.workers: dict[int, dict] = {}

    def push(self, line: str) -> None:
        self.lines.append(line)

    def take(self) -> list[str]:
        lines, self.lines = self.lines, []
        return lines

    def request_stop(self) -> None:
        self.stop = True

    def stop_requested(self) -> bool:
        return self.stop

    def hello(self, rank: int, info: dict) -> None:
        self.workers[rank] = info

    def team(self) -> dict[int, dict]:
        return self.workers

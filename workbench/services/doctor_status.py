"""One line of `workbench doctor`: a Check and its three statuses, shared by the doctor
(doctor.py, which runs and formats the checks) and the sections it runs from doctor_checks.py."""

from __future__ import annotations

from dataclasses import dataclass

OK, WARNING, PROBLEM = "ok", "warning", "problem"


@dataclass(frozen=True)
class Check:
    section: str
    name: str
    status: str  # ok | warning | problem
    detail: str
    fix: str = ""

"""`workbench doctor`: this set-up at a glance, for the user and for bug reports.

Exit status 0 when every line is ok or a warning, 1 when a problem was found.
"""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    doctor = commands.add_parser("doctor", help="check this set-up: Python, llama.cpp, GPUs, "
                                                "PyTorch, Qt, data folders, plugins")
    doctor.add_argument("--json", action="store_true", help="print JSON (a list of checks)")
    doctor.add_argument("--ray", metavar="ADDRESS",
                        help="also ask the Ray cluster at ADDRESS (ray://HOST:10001, HOST:6379 "
                             "or Ray Jobs' http://HOST:8265) what it has")
    doctor.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    from ..services.doctor import exit_status, format_report, run_checks, to_json

    checks = run_checks(safe_mode=args.safe_mode, ray_address=args.ray)
    print(to_json(checks) if args.json else format_report(checks))
    return exit_status(checks)

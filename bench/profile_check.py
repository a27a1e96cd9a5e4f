"""Profile ``run_check`` on the benchmark workspace: where the time of a check goes.

Prints cProfile's top functions (own time and cumulative) and the time per stage
(reading and its scans, recognising, layout, parsing, pandera checks, cross-checks), or
a pyinstrument tree with ``--pyinstrument`` when pyinstrument is installed (not a project
dependency).

    .venv/bin/python bench/profile_check.py                 # 30 services x 5,000 letters
    .venv/bin/python bench/profile_check.py --services 5 --top 40 --save /tmp/check.prof
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

from generate import REFERENCE_DAY, generate

OUT = Path(__file__).resolve().parent / "out"

# (label, module file, function): the stages of a check, as cumulative times.
STAGES = [
    ("read workbooks (xlsx backend)", "xlsx.py", "read_workbook"),
    ("  sheet scans before reading (scan_sheet)", "sheetscan.py", "scan_sheet"),
    ("    quick pass, plain sheets (_quick_scan)", "sheetscan.py", "_quick_scan"),
    ("    full streaming pass (_full_scan)", "sheetscan.py", "_full_scan"),
    (
        "  python-calamine to_python",
        "~",
        "<method 'to_python' of 'builtins.CalamineSheet' objects>",
    ),
    ("  zip safety checks (open_package)", "ooxml.py", "open_package"),
    ("percent cells, on ask (styled_cells_in)", "ooxml.py", "styled_cells_in"),
    ("recognise trackers", "detect.py", "recognise"),
    ("layout (header, data rows)", "detect.py", "layout"),
    ("validate_sheet", "validate.py", "validate_sheet"),
    ("  parsing (_parsed_column)", "validate.py", "_parsed_column"),
    ("  pandera schema checks (schema_failures)", "validate.py", "schema_failures"),
    ("  findings (_Recorder.add)", "validate.py", "add"),
    ("rows kept for sync, freed (_free_rows)", "check.py", "_free_rows"),
    ("engagements cross-check", "check.py", "_engagements_listed"),
    ("service names cross-check", "check.py", "_services_named"),
]


def stage_times(stats: pstats.Stats) -> list[tuple[str, float]]:
    raw = stats.stats  # type: ignore[attr-defined]
    found = []
    for label, filename, function in STAGES:
        cumulative = sum(
            value[3]
            for (file, _, func), value in raw.items()
            if func == function and (file == filename or file.endswith("/" + filename))
        )
        found.append((label, cumulative))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=30)
    parser.add_argument("--letters", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--top", type=int, default=30, help="functions listed per ordering")
    parser.add_argument("--save", type=Path, help="write the raw cProfile data (for snakeviz...)")
    parser.add_argument("--pyinstrument", action="store_true", help="sampling profile tree instead")
    args = parser.parse_args(argv)

    config_path = generate(args.out.resolve(), args.services, args.letters, args.seed)
    from qep_sync.config import load_config
    from qep_sync.jobs.check import run_check

    config = load_config(config_path)
    if args.pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
        run_check(config, REFERENCE_DAY)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return 0

    start = time.perf_counter()
    run_check(config, REFERENCE_DAY)
    plain = time.perf_counter() - start
    profile = cProfile.Profile()
    profile.enable()
    run_check(config, REFERENCE_DAY)
    profile.disable()
    if args.save:
        profile.dump_stats(args.save)
    stats = pstats.Stats(profile)
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"run_check: {plain:.2f} s without profiler, {total:.2f} s under cProfile\n")
    print("Stages (cumulative, share of the profiled total)")
    for label, seconds in stage_times(stats):
        print(f"  {label:<42} {seconds:7.2f} s  {100 * seconds / total:5.1f} %")
    for order in ("tottime", "cumulative"):
        buffer = io.StringIO()
        pstats.Stats(profile, stream=buffer).strip_dirs().sort_stats(order).print_stats(args.top)
        text = buffer.getvalue()
        print(f"\nTop {args.top} by {order}\n" + text[text.find("   ncalls") :])
    return 0


if __name__ == "__main__":
    sys.exit(main())

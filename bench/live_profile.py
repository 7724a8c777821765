"""Run daphne under cProfile, every thread included (the event loop and the database thread).

Used by bench/live_contest.py --profile DIR as `python bench/live_profile.py OUT.prof DAPHNE-ARGS...`. The
profile is written when daphne stops (SIGTERM); read it with `python -m pstats OUT.prof`. Profiling slows the
server down several times: its figures are for finding where the time goes, not for the report.
"""

import cProfile
import pstats
import sys
import threading

PROFILES: list[cProfile.Profile] = []


def _profile_this_thread(*_args) -> None:
    # The first profiling event of a new thread lands here: give the thread a profiler of its own, which
    # replaces this hook for the rest of the thread's life.
    profile = cProfile.Profile()
    PROFILES.append(profile)
    profile.enable()


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    from daphne.cli import CommandLineInterface

    threading.setprofile(_profile_this_thread)
    main_profile = cProfile.Profile()
    PROFILES.append(main_profile)
    main_profile.enable()
    try:
        CommandLineInterface().run(argv)
    finally:
        main_profile.disable()
        threading.setprofile(None)
        stats = pstats.Stats(main_profile)
        for profile in PROFILES[1:]:
            stats.add(profile)
        stats.dump_stats(out)


if __name__ == "__main__":
    main()

"""Run the test suite several times while every core is kept busy, and report each test that
failed at least once, with how often.

    python scripts/stress_tests.py [--runs N] [-- PYTEST ARGS...]

One CPU-burning process per core runs beside the suite for the whole check; they are stopped
however the check ends. Exit status 0 only when every run passed.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BURN = "while True: pass"


@contextlib.contextmanager
def busy_cores(count: int) -> Iterator[None]:
    """`count` processes that each keep one core busy until the block ends."""
    burners = [
        subprocess.Popen([sys.executable, "-c", BURN], start_new_session=True) for _ in range(count)
    ]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
        for burner in burners:
            burner.wait()


def failed_tests(junit_xml: Path) -> list[str]:
    """The ids of the tests that failed or errored in one run, from its JUnit XML report."""
    if not junit_xml.is_file():
        return ["(no report: the run did not finish)"]
    failed = []
    for case in ET.parse(junit_xml).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{case.get('classname')}::{case.get('name')}")
    return failed


def run_suite(junit_xml: Path, pytest_args: list[str]) -> tuple[int, list[str]]:
    # xunit1: the report format that allows the suite's `record_property`.
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-o", "junit_family=xunit1", f"--junitxml={junit_xml}", *pytest_args]
    # Its own process group, so the servers the suite starts can be stopped with it.
    suite = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    try:
        code = suite.wait()
    finally:
        stop_group(suite)
    failed = failed_tests(junit_xml)
    if code != 0 and not failed:
        failed = [f"(pytest exited with {code}, no failed test in its report)"]
    return code, failed


def stop_group(suite: subprocess.Popen[bytes]) -> None:
    """Interrupt a suite still running (its fixtures then stop their servers), then kill
    whatever is left in its process group."""
    if suite.poll() is None:
        os.killpg(suite.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            suite.wait(30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(suite.pid, signal.SIGKILL)
    suite.wait()


def report(runs: int, failures: collections.Counter[str], passed: int) -> None:
    print(f"\nStress check: {passed} of {runs} runs passed with every core busy.")
    for test, count in failures.most_common():
        print(f"  failed {count} of {runs}: {test}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("STRESS_RUNS", "10")))
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args()

    failures: collections.Counter[str] = collections.Counter()
    passed = 0
    # Stop on SIGTERM as on Ctrl-C. A shell starts background jobs with SIGINT ignored, which
    # pytest would inherit; handling it here gives the suite the default back.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with tempfile.TemporaryDirectory() as reports, busy_cores(os.cpu_count() or 1):
        for run in range(1, args.runs + 1):
            started = time.monotonic()
            code, failed = run_suite(Path(reports) / f"run-{run}.xml", args.pytest_args)
            passed += code == 0
            failures.update(failed)
            minutes = (time.monotonic() - started) / 60
            print(
                f"Run {run}/{args.runs}: {'passed' if code == 0 else 'FAILED'} "
                f"in {minutes:.1f} min {failed or ''}",
                flush=True,
            )
    report(args.runs, failures, passed)
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())

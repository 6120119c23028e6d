#!/usr/bin/env python3
"""Dataplane tests: the real mpf-dataplane on net_pcap vdevs with --no-huge, pcap in -> pcap out.

  python3 tests/dataplane/run.py build/dataplane/mpf-dataplane [-k SUBSTRING] [--keep] [-v]

Each scenario is one dataplane run (gateway or server config, two net_pcap ports). The frames
are built with scapy, the output pcaps are compared byte for byte with the expected frames
(only the fields that legitimately vary are masked: outer IPv4 id and header checksum, which
is verified on its own, mpf epoch and timestamp), and the counters the dataplane prints at exit
are checked. One line per case: "ok - <case>" or "not ok - <case>: <why>". Exit status 1 when
any case fails. A case marked as hitting a known dataplane bug (harness.py, `xfail`) is checked
as strictly, reported with a TAP "# TODO" directive and not counted as a failure.

Cases live in gateway_cases.py, server_cases.py, robustness_cases.py, multiworker_cases.py
(two worker lcores, two RX queues per port: NAT ownership), multipath_cases.py (paths up,
loss reports, retransmits, the reorder window), session_cases.py (frame authentication:
peer sessions announced, adopted, replayed, restarted) and compact_cases.py (wire format v3:
the compact inner header, inner_df, the v3 sizes, malformed v3 input); the machinery in
harness.py, packet builders and the topology in frames.py. cli_cases.py runs the binary
itself: options, start-up errors (exit status and message), SIGTERM under load.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree


def _ensure_scapy():
    """meson's python3 may be a pyenv/venv one without scapy: fall back to the system python
    (Debian package python3-scapy)."""
    try:
        import scapy  # noqa: F401
        return
    except ImportError:
        pass
    if os.environ.get("MPF_DP_REEXEC") != "1":
        for cand in ("/usr/bin/python3", "/usr/local/bin/python3"):
            if os.path.exists(cand) and os.path.realpath(cand) != os.path.realpath(sys.executable):
                os.environ["MPF_DP_REEXEC"] = "1"
                os.execv(cand, [cand] + sys.argv)
    print("Bail out! scapy is not importable (apt-get install python3-scapy)")
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", help="path to mpf-dataplane")
    ap.add_argument("-k", dest="pattern", action="append",
                    help="run only cases whose name contains this (scenario names count too); "
                         "repeatable")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs (printed)")
    ap.add_argument("-v", action="store_true", help="print the dataplane's output")
    args = ap.parse_args()

    _ensure_scapy()
    import logging
    logging.getLogger("scapy").setLevel(logging.ERROR)
    sys.path.insert(0, HERE)
    import cli_cases
    import compact_cases
    import gateway_cases
    import harness
    import multipath_cases
    import multiworker_cases
    import robustness_cases
    import server_cases
    import session_cases

    def report(r):
        """TAP line; a case marked xfail (a known dataplane bug) gets a TODO directive."""
        name, err, xfail = r
        line = f"ok - {name}" if err is None else f"not ok - {name}: {err}"
        if xfail:
            line += (f" # TODO known dataplane bug: {xfail}" if err is not None else
                     f" # TODO passes now (was: {xfail}): remove the xfail mark")
        print(line)

    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        print(f"Bail out! {binary} is not executable")
        return 1

    def selected(name, scn_name=""):
        if not args.pattern:
            return True
        return any(p in name or p in scn_name for p in args.pattern)

    t0 = time.monotonic()
    results = []
    n_runs = 0
    runs = []
    for module in (gateway_cases, server_cases, robustness_cases, multiworker_cases,
                   multipath_cases, session_cases, compact_cases):
        for make in module.SCENARIOS:
            try:
                runs += harness.split_by_reason(make())
            except Exception as e:  # noqa: BLE001 - a broken case builder is a failed case
                results.append((f"{module.__name__}.{make.__name__}: build the frames",
                                f"{type(e).__name__}: {e}", None))
                report(results[-1])
    for scn in runs:
        names = [c.name for c in scn.cases] + [n for n, _ in scn.extra_checks]
        if not any(selected(n, scn.name) for n in names + [scn.name]):
            continue
        res = harness.run_dataplane(binary, scn, harness.scenario_inputs(scn), keep=args.keep)
        n_runs += 1
        if args.v:
            print(f"# ---- {scn.name} ({res.seconds:.1f} s) stdout:")
            for line in res.stdout.splitlines():
                print(f"#   {line}")
            for line in res.stderr.splitlines():
                print(f"#   stderr: {line}")
        before = len(results)
        harness.evaluate(scn, res, results, lambda n, s=scn.name: selected(n, s))
        for r in results[before:]:
            report(r)
        sys.stdout.flush()

    # Command line, start-up errors, stop under load: checks that run the binary themselves
    # (-k selects them by title: "cli: options", "cli: config errors", ...).
    for chk in cli_cases.CHECKS:
        if not selected(chk.title):
            continue
        n_runs += 1
        for name, err in chk(binary):
            results.append((name, err, None))
            report(results[-1])
        sys.stdout.flush()

    failed = sum(1 for _, e, x in results if e is not None and not x)
    known = sum(1 for _, e, x in results if e is not None and x)
    fixed = sum(1 for _, e, x in results if e is None and x)
    print(f"# {len(results)} cases, {failed} failed, {known} known dataplane bug(s) (TODO), "
          f"{fixed} TODO now passing, {n_runs} dataplane runs, {time.monotonic() - t0:.1f} s")
    if not results:
        print("# no case matched")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

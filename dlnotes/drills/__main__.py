"""Grade drills written in an editor: ``python -m dlnotes.drills check my_solutions.py [NAME ...]``.

Commands:

- ``check FILE.py [NAME ...]``: run FILE.py, grade its functions named NAME (default: every
  function in it that has a drill's name), print each report; exit 0 only if every one passed.
- ``list``: the drills, with chapter, difficulty and the question-bank entries they answer.
- ``stubs [NAME ...]``: print a file of stubs to start from (all drills by default).

Exit status: 0 all passed, 1 a drill failed or was not attempted, 2 bad usage (an unknown
drill, a missing file, a name the file does not define).
"""
from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

from . import DRILLS, check, list_drills


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dlnotes.drills", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="grade the functions defined in a file")
    c.add_argument("file", type=Path, help="a Python file defining functions with the drills' names")
    c.add_argument("names", nargs="*", metavar="NAME", help="drills to grade (default: every drill the file defines)")
    c.add_argument("--reveal", action="store_true", help="after grading, show the library's own solution")
    sub.add_parser("list", help="list the drills")
    s = sub.add_parser("stubs", help="print stubs to start from")
    s.add_argument("names", nargs="*", metavar="NAME")
    return parser


def _unknown(names) -> list[str]:
    return [n for n in names if n not in DRILLS]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        print(list_drills())
        return 0
    if args.command == "stubs":
        if _unknown(args.names):
            print(f"error: no drill named {', '.join(_unknown(args.names))}; see `python -m dlnotes.drills list`", file=sys.stderr)
            return 2
        names = args.names or list(DRILLS)
        print('"""Drills of dlnotes: fill in each function, then run\n'
              '    python -m dlnotes.drills check THIS_FILE.py\n"""\nimport numpy as np\nimport torch\n\n')
        print("\n\n".join(f"# graded against {DRILLS[n].reference}\n{DRILLS[n].stub()}" for n in names))
        return 0
    if not args.file.is_file():
        print(f"error: no file {args.file}", file=sys.stderr)
        return 2
    if _unknown(args.names):
        print(f"error: no drill named {', '.join(_unknown(args.names))}; see `python -m dlnotes.drills list`", file=sys.stderr)
        return 2
    try:
        namespace = runpy.run_path(str(args.file), run_name="dlnotes_drills_solutions")
    except Exception as exc:  # the reader's file does not even import: say why
        print(f"error: running {args.file} raised {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    names = args.names or [n for n in DRILLS if callable(namespace.get(n))]
    if not names:
        print(f"error: {args.file} defines none of the drills' functions; see `python -m dlnotes.drills list`",
              file=sys.stderr)
        return 2
    missing = [n for n in names if not callable(namespace.get(n))]
    if missing:
        print(f"error: {args.file} does not define {', '.join(missing)}", file=sys.stderr)
        return 2
    reports = [check(n, namespace[n], reveal=args.reveal) for n in names]
    print("\n\n".join(str(r) for r in reports))
    passed = sum(r.passed for r in reports)
    print(f"\n{passed} of {len(reports)} drills passed")
    return 0 if passed == len(reports) else 1


if __name__ == "__main__":
    sys.exit(main())

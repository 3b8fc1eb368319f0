"""Run the `privline` command inside the test process: the same ``main()`` (argument
parsing, error mapping, exit codes) without paying a new interpreter's start-up and
imports for every command. A few tests still run the installed command as a subprocess
for the exit-code contract itself."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence


def run_privline(args: Sequence[str], env: Mapping[str, str]
                 ) -> subprocess.CompletedProcess[str]:
    from privline.entrypoints.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_argv = dict(os.environ), sys.argv
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["privline", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
    return subprocess.CompletedProcess(["privline", *args], code, out.getvalue(),
                                       err.getvalue())

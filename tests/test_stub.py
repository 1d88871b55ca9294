"""The hand-written stub of the core matches the built module, and the
Python layers type-check against it."""
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

pytest.importorskip("mypy", reason="mypy is in the test extras (pip install .[test])")


def test_stub_matches_the_built_core(tmp_path):
    # Run from an empty folder so the installed package, not src/, is checked.
    r = subprocess.run([sys.executable, "-m", "mypy.stubtest", "libnet._netlink"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_python_layers_type_check(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mypy", "--ignore-missing-imports",
                        "--cache-dir", str(tmp_path / "cache"), "-p", "libnet"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

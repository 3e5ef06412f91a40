"""Offline stand-in for pip's get-pip.py bootstrap, used by ansible-test.

ansible-test creates a virtual environment per sanity test and bootstraps pip in it by
downloading get-pip.py, which is not reachable here. It first looks for a cached copy
in ~/.ansible/test/cache/; `make` puts this file there. It does what get-pip.py does
with the interpreter that runs it: make pip available (ensurepip), then install the
requested packages from the configured package index.
"""
import os
import subprocess
import sys

# ensurepip runs in a subprocess: in-process it sets PIP_CONFIG_FILE=/dev/null,
# which would hide this machine's pip configuration (index, constraints).
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
                      stdout=subprocess.DEVNULL)

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
if args:
    env = dict(os.environ)
    env.pop("GET_PIP", None)
    sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args, env=env))

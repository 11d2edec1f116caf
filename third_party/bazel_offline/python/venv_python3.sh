#!/bin/sh
# Interpreter of every Bazel py_* target: the .venv at the root of the checkout
# this script lives in (found from its real path, so no absolute path is stored).
#
#  -S  skips site-packages processing. The venv holds an editable install of
#      official_like, a .pth import hook onto the source tree, which would let a
#      target import modules of layers it does not depend on. The venv's
#      site-packages go on PYTHONPATH instead, after the target's runfiles.
#  -P  keeps the main file's directory off sys.path: Python resolves the
#      runfiles symlink to the source tree, which would leak the same way.
# Child processes started with sys.executable run the venv normally.
root=$(dirname "$(readlink -f "$0")")/../../..
venv=$(cd "$root" && pwd)/.venv
if [ ! -x "$venv/bin/python3" ]; then
  echo "venv_python3.sh: $venv/bin/python3 not found; run 'make setup' first" >&2
  exit 1
fi
for site in "$venv"/lib/python3*/site-packages; do :; done
PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$site"
export PYTHONPATH
exec "$venv/bin/python3" -S -P "$@"

#!/usr/bin/env bash
# Put tools/get_pip_offline.py where ansible-test looks for its cached get-pip.py:
# ~/.ansible/test/cache/get_pip_<pip version with _>.py (the version ansible-test pins).
set -euo pipefail
python=${1:-.venv/bin/python}
here=$(cd "$(dirname "$0")" && pwd)
source_file=$("$python" -c 'import ansible_test, os; print(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py"))')
version=$(sed -n "s/^ *pip='\([0-9.]*\)',*$/\1/p" "$source_file" | head -n 1)
[ -n "$version" ] || { echo "cannot tell which pip ansible-test bootstraps" >&2; exit 1; }
target="$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
mkdir -p "$(dirname "$target")"
cp "$here/get_pip_offline.py" "$target"

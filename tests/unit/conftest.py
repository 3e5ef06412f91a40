"""Make the checkout importable as ``ansible_collections.icr.registry`` for pytest.

ansible-test would lay the collection out under ``ansible_collections/``; plain pytest
gets the same import path through a symlink in ``.build/`` (ignored by git).
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".build" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "icr" / "registry"

if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    LINK.symlink_to(ROOT, target_is_directory=True)
for path in (COLLECTIONS, Path(__file__).parent):  # the collection, and shared test helpers
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# Ansible's collection loader, as on a controller: plugins (the image_digest lookup) and their doc
# fragments are found by name, and every ansible_collections import goes through it.
from ansible.plugins.loader import init_plugin_loader  # noqa: E402 (after the path is set)

init_plugin_loader([str(COLLECTIONS)])

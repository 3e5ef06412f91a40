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

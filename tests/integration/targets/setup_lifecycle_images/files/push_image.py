# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Push tiny one-layer images with chosen build dates to a sandbox registry over /v2.

Retention keeps the newest images by build date, so the lifecycle targets need images
whose ``created`` they choose. Reuses the conformance suite's pusher (tests may import
anything). The API key comes from IC_API_KEY, never argv. Prints one JSON object:
``{"<tag>": "<digest>", ...}``.

    push_image.py --registry 127.0.0.1:5201 --repository ns/app 1=2024-01-01T00:00:00Z 2=2024-02-01T00:00:00Z
"""
import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "sandbox"))
from sdk_helpers import RegistryPusher, realm_token_source  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", required=True, help="host:port of the sandbox registry")
    parser.add_argument("--repository", required=True, help="<namespace>/<repository>")
    parser.add_argument("--salt", default="", help="makes the images differ from earlier ones with the same tags")
    parser.add_argument("images", nargs="+", metavar="TAG=CREATED")
    args = parser.parse_args()
    pusher = RegistryPusher(args.registry, realm_token_source(args.registry, os.environ["IC_API_KEY"]))
    digests = {}
    for image in args.images:
        tag, created = image.split("=", 1)
        content = "%s:%s %s %s" % (args.repository, tag, created, args.salt)
        digests[tag] = pusher.push_image(args.repository, tag, content, created=created)
    print(json.dumps(digests))


if __name__ == "__main__":
    main()

# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Push an image Vulnerability Advisor can scan (os-release, dpkg or apk database) over /v2.

The layers are the conformance suite's (``sdk_helpers.OS_IMAGES``); a salt layer makes the
image new to VA, so it is scanned after this push. The API key comes from IC_API_KEY,
never argv. Prints ``{"digest": "sha256:..."}``.

    push_os_image.py --registry 127.0.0.1:5201 --repository ns/app --kind debian-vulnerable --tag 1
"""
import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "sandbox"))
from sdk_helpers import OS_IMAGES, RegistryPusher, realm_token_source  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", required=True, help="host:port of the sandbox registry")
    parser.add_argument("--repository", required=True, help="<namespace>/<repository>")
    parser.add_argument("--kind", required=True, choices=sorted(OS_IMAGES))
    parser.add_argument("--tag", help="the tag (none: an untagged image, which VA never scans)")
    args = parser.parse_args()
    pusher = RegistryPusher(args.registry, realm_token_source(args.registry, os.environ["IC_API_KEY"]))
    salt = {"salt": ("%s %s %s" % (args.repository, args.tag, args.kind)).encode()}
    digest = pusher.push_files(args.repository, args.tag, OS_IMAGES[args.kind] + [salt])
    print(json.dumps({"digest": digest}))


if __name__ == "__main__":
    main()

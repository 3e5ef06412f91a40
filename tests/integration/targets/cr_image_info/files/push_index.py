# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Push a two-platform OCI index (tag ``multi``, children tagged ``amd64`` and ``arm64``) to a
sandbox registry over /v2. The API key comes from IC_API_KEY, never argv. Prints
``{"multi": "<index digest>", "amd64": "<digest>", "arm64": "<digest>"}``.

    push_index.py --registry 127.0.0.1:5201 --repository ns/app
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
    args = parser.parse_args()
    pusher = RegistryPusher(args.registry, realm_token_source(args.registry, os.environ["IC_API_KEY"]))
    digests, children = {}, []
    for architecture in ("amd64", "arm64"):
        digest = pusher.push_image(args.repository, architecture, "%s %s" % (args.repository, architecture),
                                   created="2024-06-01T00:00:00Z", architecture=architecture)
        digests[architecture] = digest
        children.append((digest, pusher.manifest_size(args.repository, digest), architecture))
    digests["multi"] = pusher.push_index(args.repository, "multi", children)
    print(json.dumps(digests))


if __name__ == "__main__":
    main()

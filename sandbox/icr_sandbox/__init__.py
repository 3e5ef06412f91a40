"""The local ICR sandbox: real dockerd and docker-registry processes behind a Python service
for IAM, the token realm, /api/v1 and test hooks. Run ``python -m icr_sandbox --help``."""

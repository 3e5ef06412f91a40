"""Vulnerability Advisor v4 (/va/api/v4): reports of scanned images, exemptions.

Scans come from ``scanner.Scanner`` (after each tagged push, by digest, in the state);
a report applies the account's exemptions when it is read, so an exemption takes effect
at once. Images and resources are the caller's own (``check_owner``: another account's
namespace is a 404, as on /api/v1). Choices IBM's documentation leaves open are in
docs/vulnerability-advisor.md.
"""

import re

from ..state import NAMESPACE_PATTERN, Refused
from . import references
from .responses import empty_response, json_response

NOT_SCANNED = ("{name} has not been scanned. Try again later. If this issue persists, contact support for help; see "
               "https://cloud.ibm.com/docs/get-support?topic=get-support-getting-customer-support")
EXEMPTION_TYPES = [
    {"identifier": "cve", "display_name": "CVE", "translation_key": "cve",
     "validation_regex": r"^CVE-[0-9]{4}-[0-9]{4,}$"},
    {"identifier": "sn", "display_name": "Security notice", "translation_key": "security_notice",
     "validation_regex": r"^[A-Z][A-Z0-9]*-[A-Za-z0-9][A-Za-z0-9:._-]*$"},
    {"identifier": "configuration", "display_name": "Configuration issue", "translation_key": "configuration_issue",
     "validation_regex": r"^application_configuration:[A-Za-z0-9_.-]+$"},
]
_TYPE_PATTERNS = {t["identifier"]: re.compile(t["validation_regex"]) for t in EXEMPTION_TYPES}


# ---- reports ------------------------------------------------------------------------------

def get_image_report(request):
    return json_response(200, _image_report(request))


def get_image_status(request):
    return json_response(200, summary(_image_report(request)))


def _image_report(request):
    ref, digest, scan = _scanned_image(request)
    image = (ref.repository, None if ref.digest else ref.tag or "latest", digest)
    return build_report(scan, _matching(_own_exemptions(request), image), digest)


def get_account_report(request):
    return json_response(200, {"assessments": {name: report for name, report, _ in _account_images(request)}})


def get_account_status(request):
    return json_response(200, {"images": [dict(summary(report), name=name, created_time=created)
                                          for name, report, created in _account_images(request)]})


def _scanned_image(request):
    """(reference, digest, scan) of the image named in the path; 404 BXNVA0009E until scanned."""
    text = request.args[0]
    ref = references.parse(request, text)
    try:
        digest = references.resolve(request, ref)
    except Refused:
        digest = None
    scan = request.state.va_scan(request.region.name, digest) if digest else None
    if scan is None:
        raise Refused(404, "BXNVA0009E", NOT_SCANNED.format(name=text))
    return ref, digest, scan


def _account_images(request):
    """[(name, report, created)] of the account's tagged images (``repository`` narrows it);
    a tagged image not scanned yet is UNSCANNED."""
    include_private = request.flag("includePrivate", True)
    request.flag("includeIBM", False)            # the sandbox holds no IBM public images
    wanted = _repository_filter(request)
    if not include_private:
        return []
    storage = request.admin.storage
    exemptions = request.state.va_exemptions(request.region.name, request.account.account_id)
    found = []
    for namespace in request.own_namespace_names():
        for repository in storage.repositories(namespace):
            if wanted and repository != wanted:
                continue
            for tag, digest in sorted(storage.tags(repository).items()):
                scan = request.state.va_scan(request.region.name, digest)
                issues = _matching(exemptions, (repository, tag, digest))
                report = build_report(scan, issues, digest) if scan else unscanned_report(digest)
                info = request.admin.manifest_info(digest)
                created = (info.created if info else None) or 0
                found.append((f"{request.region.domain}/{repository}:{tag}", report, created))
    return found


def _repository_filter(request):
    values = request.params.get("repository")
    if not values or not values[-1]:
        return None
    text = values[-1]
    domain, _, rest = text.partition("/")
    if request.config.region_for_domain(domain) is not None:
        if not references.in_this_region(request, text):
            raise Refused(400, "CRI9010E", f"The repository '{text}' is not in this region's registry ({request.region.domain}).")
        text = rest
    return text


def build_report(scan, exempt, digest):
    """A ScanReport of a stored scan, with ``exempt`` ({(issue_type, issue_id)}) applied."""
    grouped = {}
    for finding in scan["findings"]:
        notices = grouped.setdefault(finding["cve_id"], {"summary": finding["summary"], "notices": {}})["notices"]
        notice = notices.setdefault(finding["notice_id"], {"summary": finding["summary"], "packages": []})
        notice["packages"].append({
            "package_name": finding["package"], "installed_version": finding["installed_version"],
            "fix_version": finding["fixed_version"], "description": finding["summary"],
            "corrective_action": f"Upgrade {finding['package']} to at least version {finding['fixed_version']}."})
    vulnerabilities = []
    for cve_id, entry in grouped.items():
        cve_exempt = ("cve", cve_id) in exempt
        notices = [{"notice_id": notice_id, "summary": n["summary"], "vulnerable_packages": n["packages"],
                    "notice": f"Security notice {notice_id} fixes {cve_id}.",
                    "notice_exempt": ("sn", notice_id) in exempt}
                   for notice_id, n in entry["notices"].items()]
        exempt_notices = sum(1 for n in notices if n["notice_exempt"])
        if cve_exempt or exempt_notices == len(notices):
            status = "exempt"
        else:
            status = "partial" if exempt_notices else "active"
        vulnerabilities.append({"cve_id": cve_id, "summary": entry["summary"], "cve_exempt": cve_exempt,
                                "exempt_status": status, "security_notices": notices,
                                "security_notice_count": len(notices) - exempt_notices,
                                "exempt_security_notice_count": exempt_notices,
                                "total_security_notice_count": len(notices)})
    active = sum(1 for v in vulnerabilities if v["exempt_status"] != "exempt")
    os_info = scan.get("os") or {}
    if not scan["supported"]:
        status = "UNSUPPORTED"
    elif active:
        status = "FAIL"
    elif not scan["complete"]:
        status = "INCOMPLETE"
    else:
        status = "OK"
    return {"id": digest.partition(":")[2], "scan_time": scan["scan_time"], "status": status,
            "os_distribution": {"distribution_id": os_info.get("id", ""), "version_id": os_info.get("version_id", ""),
                                "version_code_name": os_info.get("version_codename", "")},
            "vulnerabilities": vulnerabilities, "configuration_issues": []}


def unscanned_report(digest):
    return {"id": digest.partition(":")[2], "scan_time": 0, "status": "UNSCANNED", "os_distribution": {},
            "vulnerabilities": [], "configuration_issues": []}


def summary(report):
    """A ScanreportSummary of a report."""
    exempt = sum(1 for v in report["vulnerabilities"] if v["exempt_status"] == "exempt")
    active = len(report["vulnerabilities"]) - exempt
    return {"status": report["status"], "scan_time": report["scan_time"],
            "vulnerability_count": active, "exempt_vulnerability_count": exempt,
            "issue_count": active, "exempt_issue_count": exempt,
            "configuration_issue_count": 0, "exempt_configuration_issue_count": 0}


# ---- exemptions ---------------------------------------------------------------------------

def list_exemption_types(request):
    return json_response(200, EXEMPTION_TYPES)


def list_account_level_exemptions(request):
    return json_response(200, [_exemption(request, e) for e in _own_exemptions(request) if e["resource"] == ""])


def list_resource_exemptions(request):
    resource = _resource(request, request.args[0])
    return json_response(200, [_exemption(request, e) for e in _own_exemptions(request) if e["resource"] == resource])


def get_account_exemption(request):
    return _get_exemption(request, "", *request.args)


def get_resource_exemption(request):
    return _get_exemption(request, _resource(request, request.args[0]), *request.args[1:])


def create_account_exemption(request):
    return _create_exemption(request, "", *request.args)


def create_resource_exemption(request):
    return _create_exemption(request, _resource(request, request.args[0]), *request.args[1:])


def delete_account_exemption(request):
    return _delete_exemption(request, "", *request.args)


def delete_resource_exemption(request):
    return _delete_exemption(request, _resource(request, request.args[0]), *request.args[1:])


def list_all_exemptions(request):
    return json_response(200, [_exemption(request, e) for e in _own_exemptions(request)])


def delete_all_exemptions(request):
    entries = _own_exemptions(request)
    for entry in entries:
        request.state.va_delete_exemption(request.region.name, request.account.account_id, **entry)
    return json_response(200, {"number_of_exemptions_deleted": len(entries)})


def list_image_exemptions(request):
    include_scope = request.flag("includeScope", False)
    image = _image_target(request, request.args[0])
    return json_response(200, [_exemption(request, e, include_scope) for e in _own_exemptions(request)
                               if _applies(e["resource"], image)])


def list_images_exemptions(request):
    names = request.json(list)
    if not all(isinstance(n, str) and n for n in names):
        raise Refused(400, "BXNVA9400E", "The request body must be a JSON list of image names.")
    own = _own_exemptions(request)
    answer = {}
    for name in names:
        image = _image_target(request, name)
        answer[name] = [_exemption(request, e) for e in own if _applies(e["resource"], image)]
    return json_response(200, answer)


def _get_exemption(request, resource, issue_type, issue_id):
    _check_issue(issue_type, issue_id)
    entry = {"resource": resource, "issue_type": issue_type, "issue_id": issue_id}
    if entry not in _own_exemptions(request):
        raise Refused(404, "BXNVA9404E", f"No exemption for {issue_type} {issue_id} in scope {_scope_name(resource)}.")
    return json_response(200, _exemption(request, entry))


def _create_exemption(request, resource, issue_type, issue_id):
    _check_issue(issue_type, issue_id)
    added = request.state.va_put_exemption(request.region.name, request.account.account_id, resource, issue_type, issue_id)
    entry = {"resource": resource, "issue_type": issue_type, "issue_id": issue_id}
    return json_response(201 if added else 200, _exemption(request, entry))


def _delete_exemption(request, resource, issue_type, issue_id):
    _check_issue(issue_type, issue_id)
    if not request.state.va_delete_exemption(request.region.name, request.account.account_id, resource, issue_type, issue_id):
        raise Refused(404, "BXNVA9404E", f"No exemption for {issue_type} {issue_id} in scope {_scope_name(resource)}.")
    return empty_response(204)


def _own_exemptions(request):
    return request.state.va_exemptions(request.region.name, request.account.account_id)


def _check_issue(issue_type, issue_id):
    pattern = _TYPE_PATTERNS.get(issue_type)
    if pattern is None:
        raise Refused(400, "BXNVA9401E", f"The exemption type '{issue_type}' is not valid. Valid types: "
                                         f"{', '.join(sorted(_TYPE_PATTERNS))} (GET /va/api/v4/exempt/types).")
    if not pattern.match(issue_id or ""):
        raise Refused(400, "BXNVA9402E", f"The issue ID '{issue_id}' is not a valid {issue_type} ID "
                                         f"(it must match {pattern.pattern}).")


def _resource(request, text):
    """A resource (``ns``, ``ns/repo``, ``ns/repo:tag``, ``ns/repo@sha256:…``, with or without
    this region's domain) in its stored form, for a namespace of the caller."""
    domain, slash, rest = text.partition("/")
    if slash and request.config.region_for_domain(domain) is not None:
        if not references.in_this_region(request, text):
            raise Refused(400, "CRI9010E", f"The resource '{text}' is not in this region's registry ({request.region.domain}).")
        text = rest
    if "/" not in text:
        if not NAMESPACE_PATTERN.match(text):
            raise Refused(400, "BXNVA9403E", f"'{text}' is not a valid resource: use a namespace, namespace/repository, "
                                             "namespace/repository:tag or namespace/repository@sha256:<digest>.")
        request.check_owner(text)
        return text
    ref = references.parse(request, f"{request.region.domain}/{text}")
    return str(ref).partition("/")[2]


def _image_target(request, text):
    """(repository, tag, digest) an image name stands for (digest None when it has none)."""
    resource = _resource(request, text)
    repository, tag, digest = _split(resource)
    if repository is None:
        raise Refused(400, "BXNVA9403E", f"'{text}' is not an image: use namespace/repository[:tag|@sha256:<digest>].")
    if digest is None:
        tag = tag or "latest"
        digest = request.admin.storage.tags(repository).get(tag)
    return repository, tag, digest


def _split(resource):
    """(repository, tag, digest) of a stored resource; repository None for a namespace."""
    if "/" not in resource:
        return None, None, None
    if "@" in resource:
        repository, _, digest = resource.partition("@")
        return repository, None, digest
    head, slash, last = resource.rpartition("/")
    name, colon, tag = last.partition(":")
    return f"{head}{slash}{name}", (tag if colon else None), None


def _applies(resource, image):
    """Whether an exemption stored for ``resource`` covers ``image`` (repository, tag, digest)."""
    repository, tag, digest = image
    if resource == "":
        return True
    if "/" not in resource:
        return repository.split("/", 1)[0] == resource
    scope_repository, scope_tag, scope_digest = _split(resource)
    if scope_repository != repository:
        return False
    if scope_digest:
        return scope_digest == digest
    return scope_tag is None or scope_tag == tag


def _matching(exemptions, image):
    return {(e["issue_type"], e["issue_id"]) for e in exemptions if _applies(e["resource"], image)}


def _scope(resource):
    if resource == "":
        return {"scope_type": "account"}
    if "/" not in resource:
        return {"scope_type": "namespace", "namespace": resource}
    repository, tag, digest = _split(resource)
    namespace, _, name = repository.partition("/")
    scope = {"scope_type": "image" if tag or digest else "repository", "namespace": namespace, "repository": name}
    if tag:
        scope["tag"] = tag
    if digest:
        scope["digest"] = digest
    return scope


def _scope_name(resource):
    return resource or "account"


def _exemption(request, entry, include_scope=True):
    exemption = {"account_id": request.account.account_id, "issue_type": entry["issue_type"],
                 "issue_id": entry["issue_id"]}
    if include_scope:
        exemption["scope"] = _scope(entry["resource"])
    return exemption

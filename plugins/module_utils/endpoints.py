# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Where ICR is served: its regions, their host names, and the endpoints file.

``Region`` and ``get_region`` know every ICR region by its current and former names and its
public, private and deprecated domains. ``Endpoints`` maps each region to the addresses that
really serve it (the endpoints file of docs/design.md; the public endpoints without one).
Pure logic: nothing here touches the network.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
from dataclasses import dataclass, replace

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError

DEFAULT_REGION = "us-south"
PUBLIC_IAM_URL = "https://iam.cloud.ibm.com"


# --------------------------------------------------------------------------- regions

@dataclass(frozen=True)
class Region:
    name: str
    domain: str
    private_domain: object = None        # str or None (not documented for eu-fr2)
    former_names: tuple = ()
    deprecated_domain: object = None     # str or None
    private: bool = False                # reached over its private endpoint

    def hosts(self):
        """Every host name that serves this region (current, private, deprecated)."""
        return tuple(h for h in (self.domain, self.private_domain, self.deprecated_domain) if h)

    def as_private(self):
        """This region reached over its private endpoint (``private.<domain>``)."""
        if not self.private_domain:
            raise IcrError("Region %s has no private endpoint: set private_endpoints: false (ICR_PRIVATE_ENDPOINTS) "
                           "for it" % self.name)
        return self if self.private else replace(self, private=True)

    @property
    def key(self):
        """``(name, private)``: what tells two ways of reaching regions apart."""
        return self.name, self.private


REGIONS = (
    Region("global", "icr.io", "private.icr.io", (), "registry.bluemix.net"),
    Region("au-syd", "au.icr.io", "private.au.icr.io", ("ap-south",), "registry.au-syd.bluemix.net"),
    Region("br-sao", "br.icr.io", "private.br.icr.io"),
    Region("ca-mon", "ca2.icr.io", "private.ca2.icr.io"),
    Region("ca-tor", "ca.icr.io", "private.ca.icr.io"),
    Region("eu-de", "de.icr.io", "private.de.icr.io", ("eu-central",), "registry.eu-de.bluemix.net"),
    Region("eu-es", "es.icr.io", "private.es.icr.io"),
    Region("eu-gb", "uk.icr.io", "private.uk.icr.io", ("uk-south",), "registry.eu-gb.bluemix.net"),
    Region("in-che", "in.icr.io", "private.in.icr.io"),
    Region("in-mum", "in2.icr.io", "private.in2.icr.io"),
    Region("jp-osa", "jp2.icr.io", "private.jp2.icr.io"),
    Region("jp-tok", "jp.icr.io", "private.jp.icr.io", ("ap-north",)),
    Region("us-south", "us.icr.io", "private.us.icr.io", (), "registry.ng.bluemix.net"),
    Region("eu-fr2", "fr2.icr.io"),
)

_BY_NAME = {}
_BY_HOST = {}
for _region in REGIONS:
    for _name in (_region.name,) + _region.former_names:
        _BY_NAME[_name] = _region
    for _host in _region.hosts():
        _BY_HOST[_host] = _region.as_private() if _host == _region.private_domain else _region

REGION_NAMES = tuple(sorted(_BY_NAME))


def get_region(name):
    """The Region for a current or former region name."""
    region = _BY_NAME.get(str(name or "").strip().lower())
    if region is None:
        raise IcrError("Unknown region %r: expected one of %s" % (name, ", ".join(REGION_NAMES)))
    return region


def split_scheme(value):
    """``"http://h:1"`` → ``("http", "h:1")``; no scheme → ``(None, value)``."""
    text = str(value).strip().rstrip("/")
    for scheme in ("http", "https"):
        prefix = scheme + "://"
        if text.lower().startswith(prefix):
            return scheme, text[len(prefix):]
    return None, text


def _hostname(host):
    """Host part of ``host[:port]`` (no scheme), lower case."""
    host = split_scheme(host)[1].lower()
    if host.startswith("["):
        return host[1:host.find("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host):
    name = _hostname(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def registry_url(host):
    """Base URL of a registry: an explicit ``http://``/``https://`` prefix wins; otherwise
    plain http for loopback hosts (the sandbox), https for everything else."""
    scheme, bare = split_scheme(host)
    if scheme is None:
        scheme = "http" if is_loopback(bare) else "https"
    return "%s://%s" % (scheme, bare)


def region_for_host(host):
    """The ICR region a registry host belongs to (public, private or deprecated domain)."""
    name = _hostname(host)
    return _BY_HOST.get(name)


# --------------------------------------------------------------------------- endpoints

class Endpoints:
    """Where each region is served: the endpoints file of docs/design.md, or public ICR.

    ``Endpoints.load(None)`` gives the public endpoints; a file overrides the registry host,
    API URL and IAM URL of the regions it lists. Extra top-level keys (``api_key``,
    ``account_id``, ``control_url``…) stay available in ``.data``.
    """

    def __init__(self, data=None, source=None):
        self.data = dict(data or {})
        self.source = source
        self._regions = {}
        regions = self.data.get("regions")
        if regions is None:
            regions = {}
        if not isinstance(regions, dict):
            raise IcrError("Endpoints file %s: 'regions' must map region names to objects" % (source,))
        for name, entry in regions.items():
            if not isinstance(entry, dict):
                raise IcrError("Endpoints file %s: region %r must be an object" % (source, name))
            self._regions[get_region(name).name] = entry

    @classmethod
    def load(cls, path):
        if not path:
            return cls()
        try:
            with open(path, "r") as handle:
                data = json.load(handle)
        except (IOError, OSError) as exc:
            raise IcrError("Cannot read endpoints file %s: %s" % (path, exc.strerror or exc))
        except ValueError as exc:
            raise IcrError("Endpoints file %s is not valid JSON: %s" % (path, exc))
        if not isinstance(data, dict):
            raise IcrError("Endpoints file %s must hold a JSON object" % (path,))
        return cls(data, source=path)

    def _entry(self, region_name):
        return self._regions.get(get_region(region_name).name, {})

    @property
    def iam_url(self):
        return str(self.data.get("iam_url") or PUBLIC_IAM_URL).rstrip("/")

    def regions(self):
        """Names of the regions the file lists."""
        return tuple(self._regions)

    def _registry(self, region_name, private):
        """The region's registry as the file or ICR names it (``private``: its private endpoint)."""
        entry, region = self._entry(region_name), get_region(region_name)
        if private:
            return entry.get("private_registry") or region.as_private().private_domain
        return entry.get("registry") or region.domain

    def registry_host(self, region_name, private=False):
        """``host[:port]`` serving /v2 for the region (no scheme)."""
        return split_scheme(self._registry(region_name, private))[1]

    def registry_url(self, region_name, private=False):
        """Base URL of the region's /v2 (scheme by :func:`registry_url`)."""
        return registry_url(self._registry(region_name, private))

    def api_url(self, region_name, private=False):
        entry, region = self._entry(region_name), get_region(region_name)
        if private:
            url = entry.get("private_api_url") or "https://" + region.as_private().private_domain
        else:
            url = entry.get("api_url") or "https://" + region.domain
        return str(url).rstrip("/")

    def region_for_host(self, host):
        """The region served by ``host``: an endpoints-file registry host (public or private) or
        an ICR domain; a private one comes back with ``private`` set."""
        bare = split_scheme(host)[1].lower()
        for name, entry in self._regions.items():
            for key, private in (("registry", False), ("private_registry", True)):
                if entry.get(key) and split_scheme(entry[key])[1].lower() == bare:
                    region = get_region(name)
                    return region.as_private() if private else region
        return region_for_host(bare)

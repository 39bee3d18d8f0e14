"""oras (the Python package) against ferry's registry: what is attached to an image.
The package has no `discover`, so its authenticated client asks the referrers API
(`/v2/<repo>/referrers/<digest>`, as `oras discover` does), then pulls the SBOM
artifact with `oras pull`'s code.

usage: oras_discover.py HOST TOKEN REPO TAG WORKDIR
Prints one JSON object: {"subject": <digest>, "referrers": <index>,
"sboms": <index filtered by artifactType>, "filters_applied": <header>,
"sbom": <the pulled SBOM document>}.
"""

import json
import os
import sys

import oras.client

host, token, repo, tag, workdir = sys.argv[1:6]
client = oras.client.OrasClient(hostname=host, insecure=True)
client.login(username="ferry", password=token, hostname=host, tls_verify=False,
             config_path=os.path.join(workdir, "oras-config.json"))

accept = ",".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])
head = client.do_request(f"http://{host}/v2/{repo}/manifests/{tag}", "HEAD",
                         headers={"Accept": accept})
head.raise_for_status()
subject = head.headers["Docker-Content-Digest"]

referrers = client.do_request(f"http://{host}/v2/{repo}/referrers/{subject}", "GET")
referrers.raise_for_status()
sboms = client.do_request(
    f"http://{host}/v2/{repo}/referrers/{subject}?artifactType=application/vnd.cyclonedx%2Bjson",
    "GET")
sboms.raise_for_status()

sbom = None
for descriptor in sboms.json().get("manifests", []):
    out = os.path.join(workdir, "pulled")
    files = client.pull(target=f"{host}/{repo}@{descriptor['digest']}", outdir=out)
    with open(files[0]) as f:
        sbom = json.load(f)

print(json.dumps({
    "subject": subject,
    "referrers": referrers.json(),
    "sboms": sboms.json(),
    "filters_applied": sboms.headers.get("OCI-Filters-Applied"),
    "sbom": sbom,
}))

"""oras (the Python package) against a ferry registry: log in, push an artifact under
SUBJECT_TAG, push a second one whose subject is the first, then discover it through
the referrers API.

usage: oras_push_discover.py HOST TOKEN REPO SUBJECT_TAG WORKDIR
Prints one JSON object: {"pushed": <status>, "subject": <digest>, "referrers": <index>,
"filtered": <index>, "filters_applied": <header>}.
"""

import json
import os
import sys

import oras.client
import oras.oci

host, token, repo, subject_tag, workdir = sys.argv[1:6]
client = oras.client.OrasClient(hostname=host, insecure=True)
client.login(username="ferry", password=token, hostname=host, tls_verify=False,
             config_path=os.path.join(workdir, "oras-config.json"))

os.chdir(workdir)
with open("subject.txt", "w") as f:
    f.write("the subject artifact\n")
client.push(target=f"{host}/{repo}:{subject_tag}", files=["subject.txt"])

manifest_types = ",".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])
head = client.do_request(f"http://{host}/v2/{repo}/manifests/{subject_tag}", "HEAD",
                         headers={"Accept": manifest_types})
head.raise_for_status()
subject = oras.oci.Subject(
    mediaType=head.headers["Content-Type"],
    digest=head.headers["Docker-Content-Digest"],
    size=int(head.headers["Content-Length"]),
)

with open("sbom.json", "w") as f:
    json.dump({"packages": ["busybox"]}, f)
pushed = client.push(
    target=f"{host}/{repo}:sbom",
    files=["sbom.json:application/vnd.example.sbom.v1+json"],
    manifest_annotations={"org.example.kind": "sbom"},
    subject=subject,
)

referrers = client.do_request(f"http://{host}/v2/{repo}/referrers/{subject.digest}", "GET")
referrers.raise_for_status()
filtered = client.do_request(
    f"http://{host}/v2/{repo}/referrers/{subject.digest}?artifactType=application/vnd.example.none",
    "GET")
print(json.dumps({
    "pushed": pushed.status_code,
    "oci_subject": pushed.headers.get("OCI-Subject"),
    "subject": subject.digest,
    "referrers": referrers.json(),
    "filtered": filtered.json(),
    "filters_applied": filtered.headers.get("OCI-Filters-Applied"),
}))

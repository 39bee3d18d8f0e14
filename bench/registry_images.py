"""Writes the registry benchmark's source images into one OCI layout: one large
multi-layer image (`big`) and N small ones (`small-000` ...), each with its own config
and layer content, so nothing is shared between them.

usage: registry_images.py LAYOUT BIG_MIB SMALL_COUNT
"""

import hashlib
import io
import json
import os
import sys
import tarfile

layout, big_mib, small_count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
blobs = os.path.join(layout, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)


def put(data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def layer(files: dict) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def image(ref: str, layers: list, seed: str) -> dict:
    diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Labels": {"seed": seed}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **put(l)} for l in layers],
    }).encode()
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", **put(manifest),
            "annotations": {"org.opencontainers.image.ref.name": ref}}


manifests = []
# The large image: four layers (random content, as compressed layers are) summing to BIG_MIB.
sizes = [big_mib * 4 // 10, big_mib * 3 // 10, big_mib * 2 // 10]
sizes.append(big_mib - sum(sizes))
manifests.append(image("big", [layer({f"data{i}.bin": os.urandom(s << 20)}) for i, s in enumerate(sizes)], "big"))
for i in range(small_count):
    content = {"app/main.txt": f"small image {i}\n".encode() + os.urandom(4096)}
    manifests.append(image(f"small-{i:03d}", [layer(content)], f"small-{i}"))

with open(os.path.join(layout, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": manifests}, f)

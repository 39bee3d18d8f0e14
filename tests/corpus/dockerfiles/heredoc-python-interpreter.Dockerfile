# syntax=docker/dockerfile:1
FROM python:3.11.9-slim-bookworm
RUN <<EOF python3
import json, pathlib
pathlib.Path("/etc/app.json").write_text(json.dumps({"mode": "prod"}))
EOF

RUN <<EOF
pip install --no-cache-dir uvicorn==0.29.0
useradd -u 10001 -m api
EOF

USER 10001
CMD ["uvicorn", "main:app"]

# syntax=docker/dockerfile:1
FROM python:3.12.3-slim
ENV GREETING=hello
RUN <<'EOF'
echo "$GREETING is not expanded by the frontend here"
pip install requests
EOF

COPY <<"END" /app/settings.py
DEBUG = False
ALLOWED_HOSTS = ["*"]
END

RUN <<"CHECK" bash
set -e
cd /app
python -c 'import settings'
CHECK

CMD ["python", "-m", "http.server"]

FROM docker.io/library/python:3.12.3-slim
LABEL author="Data Team"
LABEL contact="data team <data@example>"
LABEL created="2024-13-01T00:00:00Z"
LABEL version="1.0"
LABEL documentation="ftp//docs.example.com"
LABEL git-revision="zzzzzzz"
LABEL license="Proprietary-ACME"
LABEL author=""
HEALTHCHECK CMD ["python", "-c", "print(1)"]
CMD ["python"]

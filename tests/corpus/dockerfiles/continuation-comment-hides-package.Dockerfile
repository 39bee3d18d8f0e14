FROM ubuntu:22.04
RUN apt-get update && apt-get install -y \
    build-essential \
    # python toolchain
    python3-dev \
    python3-venv \
 && rm -rf /var/lib/apt/lists/*

RUN python3 -m venv /venv \
 && /venv/bin/pip install \
    # web stack
    fastapi \
    uvicorn[standard]
CMD ["/venv/bin/uvicorn", "main:app"]

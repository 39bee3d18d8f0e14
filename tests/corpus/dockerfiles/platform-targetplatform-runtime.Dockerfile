ARG TARGETPLATFORM
FROM --platform=$TARGETPLATFORM python:3.12.3-slim AS runtime
WORKDIR /app
COPY dist/*.whl /tmp/
RUN pip install --no-cache-dir /tmp/*.whl && rm /tmp/*.whl
USER 65534
CMD ["python", "-m", "service"]

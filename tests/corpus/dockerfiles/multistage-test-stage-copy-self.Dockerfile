FROM python:3.12.3-slim AS base
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

FROM base AS test
COPY . .
RUN pip install --no-cache-dir -r requirements-dev.txt && pytest -q
COPY --from=test /app/coverage.xml /reports/

FROM base AS test
COPY . .
CMD ["python", "-m", "app"]

FROM python:3.12.3-slim-bookworm AS builder
ENV POETRY_VERSION=1.8.2 \
    POETRY_HOME=/opt/poetry \
    POETRY_VIRTUALENVS_IN_PROJECT=1
RUN pip install --no-cache-dir "poetry==$POETRY_VERSION"
WORKDIR /app
COPY pyproject.toml poetry.lock ./
RUN poetry install --only main --no-root
COPY src ./src
RUN poetry install --only-root

FROM python:3.12.3-slim-bookworm
ENV PATH="/app/.venv/bin:$PATH"
COPY --from=builder /app /app
WORKDIR /app
USER 10001
CMD ["python", "-m", "src"]

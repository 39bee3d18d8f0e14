ARG PYTHON_VERSION=3.12.3
ARG DEBIAN_RELEASE=bookworm
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE}
ARG PYTHON_VERSION
RUN echo "python ${PYTHON_VERSION}" > /etc/python-version
WORKDIR /app
COPY . .
CMD ["python", "app.py"]

FROM python:3.12-alpine3.19
RUN apk add --no-cache --virtual .build-deps gcc musl-dev libffi-dev \
    && pip install --no-cache-dir cryptography==42.0.5 \
    && apk del .build-deps
RUN apk add --no-cache libffi=3.4.4-r3
WORKDIR /app
COPY . .
CMD ["python", "-m", "app"]

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_GREETING="hello world \

WORKDIR /app
COPY . .
CMD ["python", "app.py"]

FROM python:3.10.14-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -r requirements.txt
CMD ["celery", "-A", "tasks", "worker"]
CMD ["celery", "-A", "tasks", "beat"]

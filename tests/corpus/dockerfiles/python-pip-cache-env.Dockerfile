FROM python:3.11.9-slim
ENV PIP_NO_CACHE_DIR=1
RUN pip install fastapi==0.110.2 uvicorn==0.29.0
COPY . /srv
WORKDIR /srv
CMD ["uvicorn", "main:app", "--host", "0.0.0.0"]

FROM python:3.12.3-slim
WORKDIR /usr/src/app
ONBUILD COPY requirements.txt /usr/src/app/
ONBUILD RUN pip install --no-cache-dir -r requirements.txt
ONBUILD COPY . /usr/src/app
ONBUILD MAINTAINER platform-team
ONBUILD ONBUILD RUN echo nested
CMD ["python", "main.py"]

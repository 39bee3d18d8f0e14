FROM python:3.11

RUN apt-get update && apt-get install -y gettext libjpeg-dev zlib1g-dev

WORKDIR /code
COPY requirements.txt /code/
RUN pip install -r requirements.txt
RUN pip install gunicorn psycopg2-binary

COPY . /code/
RUN python manage.py collectstatic --noinput

EXPOSE 8000
CMD gunicorn mysite.wsgi:application --bind 0.0.0.0:8000

FROM ubuntu
RUN apt-get -y update && apt-get -y install python3 python3-pip
COPY app.py /opt/app.py
CMD ["python3", "/opt/app.py"]

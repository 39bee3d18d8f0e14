FROM opensuse/leap:15.5
RUN zypper refresh && zypper install python3 python3-pip
RUN zypper -n update
RUN zypper --non-interactive dist-upgrade
WORKDIR /app
COPY . /app
CMD ["python3", "app.py"]

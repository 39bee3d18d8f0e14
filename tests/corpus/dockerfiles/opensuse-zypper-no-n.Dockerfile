FROM opensuse/leap:15.5
RUN zypper install --no-recommends python311=3.11.8 && zypper clean -a
RUN zypper remove vim && zypper clean -a
RUN zypper -q install -y postgresql16=16.2 && zypper clean -a
CMD ["python3.11"]

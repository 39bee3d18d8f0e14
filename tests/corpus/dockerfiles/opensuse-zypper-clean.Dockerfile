FROM opensuse/tumbleweed:latest
RUN zypper --non-interactive install --no-recommends git-2.45.0 \
    && zypper clean --all
RUN zypper -n in curl && zypper -n clean
CMD ["/bin/bash"]

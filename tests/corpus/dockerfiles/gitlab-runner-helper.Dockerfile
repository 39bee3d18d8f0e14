FROM debian:buster
RUN apt-get update -y
RUN apt-get install -y ca-certificates git git-lfs openssh-client
RUN wget -q https://example.com/dumb-init_1.2.5_x86_64 -O /usr/bin/dumb-init
RUN curl -L --output /usr/local/bin/runner "https://example.com/gitlab-runner-linux-amd64"
RUN chmod +x /usr/local/bin/runner /usr/bin/dumb-init
ENTRYPOINT ["/usr/bin/dumb-init", "--"]
ENTRYPOINT ["/usr/local/bin/runner"]
CMD ["run", "--user=gitlab-runner"]

FROM perl:5.38-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
RUN cpanm --notest Mojolicious DBD::Pg
WORKDIR /opt/app
COPY . .
EXPOSE 3000
CMD ["perl", "script/app", "prefork", "-l", "http://*:3000"]

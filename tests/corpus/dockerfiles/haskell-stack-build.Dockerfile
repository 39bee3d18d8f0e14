FROM haskell:9.6.4-slim AS build
WORKDIR /opt/build
RUN cabal update
COPY *.cabal cabal.project ./
RUN cabal build --only-dependencies -j2
COPY . .
RUN cabal install --installdir=/opt/bin --install-method=copy

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgmp10=2:6.2.1+dfsg1-1.1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/bin/server /usr/local/bin/server
COPY --from=buidl /opt/build/static /srv/static
CMD ["server"]

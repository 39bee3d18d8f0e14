FROM debian:bookworm-slim
WORKDIR app
COPY . .
WORKDIR src/server
RUN ./configure && make
WORKDIR $HOME/build
WORKDIR /opt/final
CMD ["./server"]

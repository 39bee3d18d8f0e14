FROM ubuntu:22.04

RUN apt-get update
RUN apt-get install --no-install-recommends build-essential=12.9ubuntu3 cmake=3.22.1-1ubuntu1
RUN apt install -y git

WORKDIR /build
COPY . /build
RUN cmake -S . -B out && cmake --build out -j2

CMD ["/build/out/app"]

FROM debian:bullseye-20240423
RUN apt-get update && apt-get dist-upgrade && rm -rf /var/lib/apt/lists/*
RUN apt-get update && apt-get -q install --no-install-recommends nginx=1.18.0-6.1+deb11u3 && rm -rf /var/lib/apt/lists/*
RUN apt-get update && apt-get --assume-yes install --no-install-recommends openssl=1.1.1w-0+deb11u1 && rm -rf /var/lib/apt/lists/*
RUN apt-get update && apt-get -qq install --no-install-recommends tzdata=2024a-0+deb11u1 && rm -rf /var/lib/apt/lists/*
CMD ["nginx", "-g", "daemon off;"]

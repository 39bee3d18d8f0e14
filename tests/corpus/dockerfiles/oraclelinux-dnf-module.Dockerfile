FROM oraclelinux:8-slim
RUN microdnf module enable nodejs:20 \
 && microdnf install -y nodejs \
 && microdnf clean all
RUN dnf install -y gcc-c++ make
WORKDIR /usr/src/app
COPY . .
RUN npm ci
CMD ["node", "index.js"]

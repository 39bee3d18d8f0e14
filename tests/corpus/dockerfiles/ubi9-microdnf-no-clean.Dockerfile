FROM registry.access.redhat.com/ubi9/ubi-minimal:9.4
RUN microdnf -y install nodejs-18.20.2 npm
COPY package.json /opt/app-root/src/
WORKDIR /opt/app-root/src
RUN npm install --production
COPY . /opt/app-root/src
USER 1001
CMD ["npm", "start"]

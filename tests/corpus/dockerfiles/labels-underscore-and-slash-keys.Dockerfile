FROM node:20.11.1-alpine3.19
ARG BUILD_DATE
ARG VCS_REF
LABEL build_date="2022-12-30" \
      vcs_ref="${VCS_REF}" \
      org.example/team="platform" \
      org.example.ci__pipeline="nightly"
LABEL Build_Date="${BUILD_DATE}" \
      release_="1"
LABEL _internal="yes"
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY . .
USER node
CMD ["node", "server.js"]

# syntax=docker/dockerfile:1.8
# check=skip=JSONArgsRecommended;error=true
FROM node:20.12.2-alpine3.19
WORKDIR /app
COPY --link package.json ./
RUN --mount=type=cache,target=/root/.npm npm install --omit=dev
COPY --link --chmod=755 bin/start.sh /usr/local/bin/start.sh
CMD /usr/local/bin/start.sh

FROM node:20.12.2-bookworm-slim
#   hadolint   ignore=DL3016
RUN npm install -g yarn
# HADOLINT IGNORE=DL3016
RUN npm install -g pnpm
# hadolint ignore = DL3016
RUN npm install -g turbo
CMD ["node"]

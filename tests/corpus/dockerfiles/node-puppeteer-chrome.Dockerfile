FROM node:20.12.2-bookworm
RUN apt-get update && apt-get install -y wget gnupg \
    && wget -q -O - https://example.com/linux_signing_key.pub | apt-key add - \
    && apt-get install -y google-chrome-stable fonts-liberation --no-install-recommends \
    && rm -rf /var/lib/apt/lists/*
RUN npm install puppeteer@22.7.1 --save
RUN npm install -g git+https://example.org/tools/cli.git
RUN npm install ./local-package.tgz
USER pptruser
CMD ["node", "scrape.js"]

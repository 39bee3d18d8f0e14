FROM denoland/deno:alpine-1.43.1
WORKDIR /app
COPY deno.json deno.lock ./
RUN deno cache --lock=deno.lock main.ts
COPY . .
RUN deno task build
USER deno
EXPOSE 8000
CMD ["run", "-A", "main.ts"]

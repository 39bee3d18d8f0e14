FROM alpine:3.19.1
RUN addgroup -S app && adduser -S -G app app
USER app:app
WORKDIR /home/app
COPY --chown=app:app run.sh .
CMD ["./run.sh"]

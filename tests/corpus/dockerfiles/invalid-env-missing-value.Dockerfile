FROM alpine:3.19.1
ENV
ENV FOO
CMD ["sh"]

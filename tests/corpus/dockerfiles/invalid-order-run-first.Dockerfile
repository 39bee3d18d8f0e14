# syntax=docker/dockerfile:1
# This file was split badly from a larger one.
RUN echo "setting up"
FROM alpine:3.19.1
CMD ["sh"]

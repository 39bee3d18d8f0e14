FROM alpine:3.19.1
# escape=`
RUN echo one \
    two
# syntax=docker/dockerfile:1
CMD ["echo"]

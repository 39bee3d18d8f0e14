# escape=`
FROM alpine:3.19.1
RUN apk add --no-cache `
      curl=8.5.0-r0 `
      jq=1.7.1-r0
ENV WINDOWS_STYLE_PATH="C:\Program Files\App"
COPY scripts\ /opt/scripts/
CMD ["sh", "-c", "echo ok"]

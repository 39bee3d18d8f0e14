FROM alpine:3.19.1
ARG TERRAFORM_VERSION=1.8.2
RUN apk add --no-cache curl unzip git openssh
RUN curl -fsSLo /tmp/tf.zip https://example.com/terraform/${TERRAFORM_VERSION}/terraform_${TERRAFORM_VERSION}_linux_amd64.zip \
    && unzip /tmp/tf.zip -d /usr/local/bin \
    && rm /tmp/tf.zip
RUN wget https://example.com/tflint.zip && unzip tflint.zip -d /usr/local/bin
RUN pip3 install checkov
ENTRYPOINT ["terraform"]

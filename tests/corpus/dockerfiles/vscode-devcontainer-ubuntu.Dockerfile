FROM mcr.microsoft.com/devcontainers/base:ubuntu-22.04
ARG USERNAME=vscode
RUN apt-get update && export DEBIAN_FRONTEND=noninteractive \
    && apt-get -y install --no-install-recommends shellcheck=0.8.0-2 direnv=2.25.2-2ubuntu0.22.04.2 \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
RUN sudo -u $USERNAME mkdir -p /home/$USERNAME/.config
RUN su $USERNAME -c "npm install -g @devcontainers/cli"
RUN echo 'eval "$(direnv hook bash)"' >> /home/${USERNAME}/.bashrc
USER $USERNAME

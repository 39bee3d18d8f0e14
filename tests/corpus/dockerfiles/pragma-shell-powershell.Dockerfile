FROM mcr.microsoft.com/powershell:7.4-ubuntu-22.04
SHELL ["pwsh", "-Command"]
# hadolint shell=pwsh
RUN Install-Module -Name Az -Force -Scope AllUsers; \
    Get-ChildItem Env: | Sort-Object Name
COPY scripts/ /scripts/
CMD ["pwsh", "/scripts/main.ps1"]

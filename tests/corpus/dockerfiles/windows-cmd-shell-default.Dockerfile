# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022
RUN mkdir C:\tools && `
    curl.exe -L -o C:\tools\jq.exe https://example.com/jq-win64.exe
ENV PATH="C:\tools;C:\Windows\system32;C:\Windows"
ADD https://example.com/dl/vc_redist.x64.exe C:\tools\vc_redist.x64.exe
RUN C:\tools\vc_redist.x64.exe /install /quiet /norestart
USER ContainerAdministrator
CMD ["cmd.exe"]

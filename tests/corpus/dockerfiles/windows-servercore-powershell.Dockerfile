# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022

SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue';"]

RUN Invoke-WebRequest -Uri https://example.com/dl/node-v20.12.2-x64.msi -OutFile node.msi ; `
    Start-Process msiexec.exe -ArgumentList '/qn', '/i', 'node.msi' -Wait ; `
    Remove-Item node.msi

WORKDIR C:\app
COPY package.json C:\app\
RUN npm install
COPY . C:\app\
EXPOSE 3000
CMD ["node.exe", "server.js"]

# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2019
SHELL ["powershell", "-NoProfile", "-Command"]
RUN Set-ExecutionPolicy Bypass -Scope Process -Force; `
    iex ((New-Object System.Net.WebClient).DownloadString('https://example.org/install.ps1'))
RUN choco install -y git --version 2.44.0 ; `
    choco install -y 7zip
RUN setx /M PATH $($Env:PATH + ';C:\Program Files\Git\bin')
WORKDIR src
CMD powershell.exe -NoLogo

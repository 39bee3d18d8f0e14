From ubuntu:22.04
Run apt-get update && apt-get install -y --no-install-recommends python3=3.10.6-1~22.04 && rm -rf /var/lib/apt/lists/*
Env PYTHONUNBUFFERED=1
Workdir /opt
Copy app.py /opt/app.py
Cmd python3 /opt/app.py

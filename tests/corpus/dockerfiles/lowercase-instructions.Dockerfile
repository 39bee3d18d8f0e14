from python:3.12.3-alpine3.19 as base
workdir /app
copy requirements.txt .
run pip install --no-cache-dir -r requirements.txt
copy . .
expose 5000
user 1000
cmd ["python", "app.py"]

FROM python:3.11-alpine
RUN pip install --user pipenv
RUN pip3 install --no-cache-dir 'requests>=2.31' "flask==3.0.3"
RUN python -m pip install -U pip setuptools wheel
COPY Pipfile* ./
RUN pipenv install --system --deploy
CMD ["python", "main.py"]

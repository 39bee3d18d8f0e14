FROM python:3.10.14-bookworm
RUN pip install --no-cache-dir -e .
RUN pip install --no-cache-dir --upgrade pip
RUN pip install --no-cache-dir django==4.2.11 'celery[redis]==5.3.6' requests~=2.31
RUN pip install --no-cache-dir git+https://example.org/acme/lib.git@v1.2.0
RUN pip install --no-cache-dir ./wheels/acme-1.0-py3-none-any.whl
RUN pip install --no-cache-dir numpy
RUN python3 -m pip install --no-cache-dir scipy
RUN pip3 install --no-cache-dir --requirement requirements.txt
RUN pip install --no-cache-dir -c constraints.txt pandas
CMD ["python"]

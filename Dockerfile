# One image per service: docker build --build-arg SERVICE=OrderService .
# librdkafka 2.8.0 is built from Debian trixie's source package (bookworm's 2.0.2 is too old
# for the shim's version guard), exactly as scripts/dev deps does, and copied into the runtime.

FROM swift:6.1-bookworm AS build
ARG SERVICE=OrderService
RUN printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        > /etc/apt/sources.list.d/trixie-src.sources \
    && apt-get update \
    && apt-get install -y --no-install-recommends dpkg-dev build-essential pkg-config zlib1g-dev libssl-dev \
        libzstd-dev liblz4-dev python3 \
    && mkdir /tmp/rdkafka && cd /tmp/rdkafka \
    && apt-get source --download-only librdkafka=2.8.0-1 \
    && tar xzf librdkafka_2.8.0.orig.tar.gz && cd librdkafka-2.8.0 \
    && ./configure --prefix=/opt/rdkafka --disable-gssapi --disable-curl --disable-sasl \
    && make -j"$(nproc)" libs && make install-subdirs \
    && rm -rf /tmp/rdkafka /var/lib/apt/lists/*
ENV RDKAFKA_PREFIX=/opt/rdkafka PKG_CONFIG_PATH=/opt/rdkafka/lib/pkgconfig
WORKDIR /src
COPY Package.swift ./
RUN swift package resolve
COPY Shared Shared
COPY Services Services
COPY Tests Tests
COPY Benchmarks Benchmarks
RUN swift build -c release --product "$SERVICE" \
    && mkdir /staging \
    && cp "$(swift build -c release --show-bin-path)/$SERVICE" /staging/service \
    && cp -R "$(swift build -c release --show-bin-path)"/*.resources /staging/

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl3 zlib1g libzstd1 liblz4-1 ca-certificates curl tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 app
COPY --from=build /usr/lib/swift/linux/*.so* /usr/lib/swift/linux/
COPY --from=build /opt/rdkafka/lib/librdkafka.so* /opt/rdkafka/lib/
COPY --from=build /staging /app
ENV LD_LIBRARY_PATH=/usr/lib/swift/linux:/opt/rdkafka/lib APP_ENV=production LOG_FORMAT=json
USER app
WORKDIR /app
ENTRYPOINT ["/app/service"]

# Builds both binaries; docker-compose.yml runs them.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p emulator -p generator

FROM debian:bookworm-slim
COPY --from=build /src/target/release/emulator /src/target/release/generator /usr/local/bin/
EXPOSE 4599
CMD ["emulator", "--bind", "0.0.0.0:4599", "--data-dir", "/data"]

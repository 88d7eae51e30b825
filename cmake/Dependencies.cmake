# Every third-party library comes from Debian bookworm (scripts/setup installs them).
find_package(Threads REQUIRED)
find_package(FlatBuffers REQUIRED CONFIG)  # headers and flatc
find_package(zstd REQUIRED CONFIG)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
# Checksums of ZooKeeper's files (Adler-32) and tree digests (CRC-32):
# libdeflate's are SIMD-accelerated, several times faster than zlib's.
pkg_check_modules(LIBDEFLATE REQUIRED IMPORTED_TARGET libdeflate)
# zkarrow query: SQL through SQLite's virtual tables (3.38+ for
# sqlite3_error_offset and LIMIT/OFFSET constraints).
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3>=3.38)
find_package(CLI11 REQUIRED CONFIG)
# SHA-256 of stored datasets, TLS for the servers and the ZooKeeper client.
find_package(OpenSSL REQUIRED)
# SASL (DIGEST-MD5, GSSAPI) for the ZooKeeper client.
pkg_check_modules(SASL2 REQUIRED IMPORTED_TARGET libsasl2)
# GSS-API (MIT Kerberos) to take GSSAPI credentials from a keytab.
pkg_check_modules(GSSAPI REQUIRED IMPORTED_TARGET krb5-gssapi)
# JSON: typed values, the server's catalog and replies, the integration gold files.
find_package(nlohmann_json 3 REQUIRED CONFIG)
if(ZKARROW_TESTS)
  find_package(GTest REQUIRED CONFIG)
  find_package(ZLIB REQUIRED)                     # ...which are gzipped
endif()
if(ZKARROW_BENCH)
  find_package(benchmark REQUIRED CONFIG)
endif()

#pragma once
// The processor this binary is built for, named as `uname -m` and the release archives name it
// (tunnel-client-VERSION-linux-ARCH.tar.gz): `tunnel-client --version` says which binary this is.

#if defined(__x86_64__)
#define TUNNEL_TARGET_ARCH "x86_64"
#elif defined(__aarch64__)
#define TUNNEL_TARGET_ARCH "aarch64"
#else
#define TUNNEL_TARGET_ARCH "unknown"
#endif

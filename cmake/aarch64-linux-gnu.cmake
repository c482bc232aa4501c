# Cross build for 64-bit ARM Linux (aarch64) on a Debian amd64 machine: Debian's cross compiler
# (crossbuild-essential-arm64) and Debian's arm64 libraries, installed beside the amd64 ones.
# `packaging/setup.sh arm64` installs all of it, and qemu-user, which runs what is built here (the
# tests, ctest's listing of them, the manual pages' --help).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Libraries and headers: the arm64 ones only (lib/aarch64-linux-gnu, and pkg-config's arm64 files);
# programs (help2man, python3) are the machine's own.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# Boost.Log's arm64 -dev package cannot be installed beside the amd64 one (it is not Multi-Arch):
# packaging/setup.sh unpacks it here, and find_package(Boost) finds its CMake files here.
get_filename_component(tunnel_arm64_sysroot "${CMAKE_CURRENT_LIST_DIR}/../build/sysroot-arm64" ABSOLUTE)
if(NOT EXISTS "${tunnel_arm64_sysroot}/usr/lib/aarch64-linux-gnu/libboost_log.a")
    message(FATAL_ERROR "No arm64 Boost.Log in ${tunnel_arm64_sysroot}: run packaging/setup.sh arm64")
endif()
list(APPEND CMAKE_PREFIX_PATH "${tunnel_arm64_sysroot}/usr")

# Every executable built here is static, the tests too: qemu-user then runs them without an arm64
# loader and libraries, whose versions would have to match the cross toolchain's glibc exactly
# (Debian's libc6:arm64 and libc6-arm64-cross differ: a dynamic test hangs in its first
# pthread_create when it gets one's loader and the other's libc.so).
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-pie")

# Runs the arm64 executables built here: ctest's tests and their listing, the manual pages' --help.
find_program(TUNNEL_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(NOT TUNNEL_QEMU_AARCH64)
    message(FATAL_ERROR "qemu-aarch64-static not found (Debian package qemu-user-static): run packaging/setup.sh arm64")
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR "${TUNNEL_QEMU_AARCH64}")

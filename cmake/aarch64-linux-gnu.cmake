# Cross-compiling slim for 64-bit Arm Linux with Debian's g++-aarch64-linux-gnu; programs run under
# qemu-aarch64 (qemu-user-static), which ctest uses through CMAKE_CROSSCOMPILING_EMULATOR.
#   cmake -S . -B build-arm -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#     -DSLIM_BUILD_EXAMPLES=OFF -DSLIM_BUILD_BENCHMARKS=OFF
# Libraries (libstdc++, libgomp) come from the cross toolchain under /usr/aarch64-linux-gnu; ICU and
# PCRE2 from Debian's arm64 packages (multiarch: dpkg --add-architecture arm64, then
# libicu-dev:arm64 libpcre2-dev:arm64, as scripts/arm-test.sh does) in /usr/lib/aarch64-linux-gnu. The
# header-only dependencies (xsimd, nlohmann_json, Catch2, Eigen) are the host's Debian packages:
# /usr/include is searched after the Arm system headers (-idirafter), so it only supplies headers
# the Arm sysroot lacks, and it counts as an implicit directory, so CMake never puts it first.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_C_FLAGS_INIT "-idirafter /usr/include")
set(CMAKE_CXX_FLAGS_INIT "-idirafter /usr/include")

set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# xsimd's package files live in the host's multiarch directory, which a cross build does not search.
set(xsimd_DIR /usr/lib/x86_64-linux-gnu/cmake/xsimd CACHE PATH "xsimd package (header-only, host)")

# At run time every Arm library comes from Debian's arm64 packages (multiarch, under /), so the
# loader, libc and libstdc++ are one consistent set; mixing the cross toolchain's loader with the
# multiarch libc hangs threaded programs under qemu.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static -L /)

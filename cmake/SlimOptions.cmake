# Build options and warning flags shared by every slim target.
option(SLIM_BUILD_EXAMPLES "Build the example programs" ON)
option(SLIM_BUILD_TESTS "Build the test suite" ON)
option(SLIM_BUILD_BENCHMARKS "Build the Google Benchmarks" ON)
option(SLIM_WERROR "Treat warnings as errors (CI turns this on)" OFF)
set(SLIM_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined or thread")
option(SLIM_FUZZ "Build the fuzz targets as libFuzzer programs (needs clang)" OFF)

add_library(slim_warnings INTERFACE)
target_compile_options(slim_warnings INTERFACE -Wall -Wextra $<$<BOOL:${SLIM_WERROR}>:-Werror>)

if(SLIM_SANITIZE)
  add_compile_options(-fsanitize=${SLIM_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${SLIM_SANITIZE})
endif()
if(SLIM_FUZZ)
  # Coverage instrumentation for the whole library; the fuzz targets add the libFuzzer main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# slim_isa_flags(<var> <isa>): compiler flags for a kernel file written for one instruction set.
# Only such files get ISA flags; the rest of the library runs on any CPU of the target architecture.
function(slim_isa_flags out isa)
  if(isa STREQUAL "avx2")
    set(${out} -mavx2 -mfma -mf16c PARENT_SCOPE)
  elseif(isa STREQUAL "avx512_vnni")
    set(${out} -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni PARENT_SCOPE)
  elseif(isa STREQUAL "avx_vnni")
    set(${out} -mavx2 -mfma -mf16c -mavxvnni PARENT_SCOPE)
  elseif(isa STREQUAL "neon_dotprod")
    set(${out} -march=armv8.2-a+dotprod PARENT_SCOPE)
  elseif(isa STREQUAL "neon_i8mm")
    set(${out} -march=armv8.2-a+dotprod+i8mm PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

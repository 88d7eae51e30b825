# Warnings, sanitizers and the shared compile settings of every zkarrow target.

# ccache makes rebuilds (CI runs on the same machine, local branches) cheap.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()
add_library(zkarrow_compile_options INTERFACE)
target_compile_options(zkarrow_compile_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough -Wno-missing-field-initializers)
# GCC 12 reports -Wrestrict on ordinary std::string concatenation
# ("x" + std::to_string(n)) once -O3 inlines it (GCC bug 105651, fixed in
# later releases): Debian bookworm's GCC 12.2 would otherwise warn in a
# Release build wherever such code is inlined, tests included.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(zkarrow_compile_options INTERFACE -Wno-restrict)
endif()
if(ZKARROW_WERROR)
  target_compile_options(zkarrow_compile_options INTERFACE -Werror)
endif()
target_include_directories(zkarrow_compile_options INTERFACE
  ${PROJECT_SOURCE_DIR}/src ${PROJECT_BINARY_DIR}/src)

if(ZKARROW_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(ZKARROW_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ZKARROW_FUZZ needs clang: cmake -DCMAKE_CXX_COMPILER=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# zkarrow_module(NAME SOURCES... DEPS ...): a static library under src/NAME.
function(zkarrow_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(zkarrow_${name} STATIC ${ARG_SOURCES})
  target_link_libraries(zkarrow_${name} PUBLIC zkarrow_compile_options ${ARG_DEPS})
endfunction()

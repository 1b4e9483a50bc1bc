# The linked llama-server build (`npm run engine:build`, the default): compiles
# only llama-server and libmtmd from the llama.cpp source node-llama-cpp
# bundles, and links them against the shared libraries node-llama-cpp ships
# prebuilt for the same release (@node-llama-cpp/<platform>/bins/<platform>):
#
#   libggml-base.so, libggml.v0.4.0.so   ggml with GGML_BACKEND_DL: the CPU
#                                        backend is one libggml-cpu-<arch>.so
#                                        per x86 level, picked at run time;
#                                        GPU backends (libggml-cuda.so,
#                                        libggml-vulkan.so) load the same way
#   libllama.v0.4.0.so                   the model code
#   libllama-common.so                   common (argument parsing, chat
#                                        templates, sampling) and cpp-httplib
#
# so ggml, llama and common are not compiled at all. build-engine.ts writes
# a CMakeLists.txt that sets these variables and includes this file:
#   LVC_LLAMA_SRC    the llama.cpp source tree (cloned from the bundle)
#   LVC_PREBUILT_DIR the folder with the prebuilt libraries
#   LVC_UNITY        ON: compile 8 sources to a unit (faster on 2 cores)
# The executable's RUNPATH is $ORIGIN: build-engine.ts puts the libraries
# (links into node_modules) next to it, which is also where ggml looks for
# its backends (the executable's folder).

set(S "${LVC_LLAMA_SRC}")
set(P "${LVC_PREBUILT_DIR}")
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
find_package(Threads REQUIRED)

# The prebuilt libraries, by the names their SONAMEs give.
foreach(lib ggml-base ggml llama llama-common)
  if(lib STREQUAL "ggml" OR lib STREQUAL "llama")
    file(GLOB _found "${P}/lib${lib}.*v[0-9]*.so")
  else()
    set(_found "${P}/lib${lib}.so")
  endif()
  list(LENGTH _found _n)
  if(NOT _n EQUAL 1 OR NOT EXISTS "${_found}")
    message(FATAL_ERROR "linked build: lib${lib} not found (once) in ${P}: '${_found}'")
  endif()
  add_library(lvc-${lib} SHARED IMPORTED)
  set_target_properties(lvc-${lib} PROPERTIES IMPORTED_LOCATION "${_found}")
endforeach()

# The same public compile definitions llama.cpp's own build gives these
# consumers (they change no struct layout: checked in build-engine.ts).
add_compile_definitions(LLAMA_SUBPROCESS NDEBUG _GNU_SOURCE)
include_directories(
  "${S}/include" "${S}/ggml/include" "${S}/common" "${S}/vendor"
  "${S}/tools/mtmd" "${S}/tools/server" "${S}" "${CMAKE_CURRENT_BINARY_DIR}")

# --- the web UI stub: llama.cpp's embed tool with no assets (no download, no npm)
add_executable(lvc-ui-embed "${S}/tools/ui/embed.cpp")
add_custom_command(
  OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/ui.cpp" "${CMAKE_CURRENT_BINARY_DIR}/ui.h"
  COMMAND lvc-ui-embed "${CMAKE_CURRENT_BINARY_DIR}/ui.cpp" "${CMAKE_CURRENT_BINARY_DIR}/ui.h"
  DEPENDS lvc-ui-embed)

# --- vendor/hash (mtmd hashes image chunks)
add_library(lvc-hash STATIC "${S}/vendor/hash/hash.cpp" "${S}/vendor/hash/xxhash/xxhash.c"
  "${S}/vendor/hash/sha1/sha1.c" "${S}/vendor/hash/sha256/sha256.c")
set_source_files_properties("${S}/vendor/hash/sha1/sha1.c" PROPERTIES LANGUAGE CXX)
target_include_directories(lvc-hash PRIVATE "${S}/vendor/hash")
target_compile_options(lvc-hash PRIVATE -w)

# --- libmtmd
file(GLOB MTMD_MODELS "${S}/tools/mtmd/models/*.cpp")
add_library(lvc-mtmd STATIC
  "${S}/tools/mtmd/mtmd.cpp" "${S}/tools/mtmd/mtmd-audio.cpp" "${S}/tools/mtmd/mtmd-image.cpp"
  "${S}/tools/mtmd/mtmd-helper.cpp" "${S}/tools/mtmd/mtmd-helper-gen.cpp" "${S}/tools/mtmd/clip.cpp"
  ${MTMD_MODELS})
target_compile_definitions(lvc-mtmd PRIVATE MTMD_VIDEO)
target_compile_options(lvc-mtmd PRIVATE -Wno-cast-qual)
target_link_libraries(lvc-mtmd PUBLIC lvc-llama lvc-ggml lvc-ggml-base PRIVATE lvc-hash Threads::Threads)

# --- llama-server (cpp-httplib comes from libllama-common.so, compiled there with llama.cpp's own options)
file(GLOB SERVER_SOURCES "${S}/tools/server/server-*.cpp")
list(APPEND SERVER_SOURCES "${S}/tools/server/server.cpp" "${S}/tools/server/main.cpp" "${CMAKE_CURRENT_BINARY_DIR}/ui.cpp")
add_executable(llama-server ${SERVER_SOURCES})
target_link_libraries(llama-server PRIVATE lvc-mtmd lvc-llama-common lvc-llama lvc-ggml lvc-ggml-base Threads::Threads ${CMAKE_DL_LIBS})
set_target_properties(llama-server PROPERTIES
  BUILD_RPATH "\$ORIGIN" INSTALL_RPATH "\$ORIGIN" BUILD_WITH_INSTALL_RPATH ON
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/bin")
# RUNPATH, not the loader's search of the build machine's folders.
target_link_options(llama-server PRIVATE "-Wl,--enable-new-dtags")

if(LVC_UNITY)
  set_target_properties(lvc-mtmd llama-server PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  # miniaudio and stb define their implementations in these: keep them alone.
  set_source_files_properties("${S}/tools/mtmd/mtmd-audio.cpp" "${S}/tools/mtmd/mtmd-image.cpp" "${S}/tools/mtmd/mtmd-helper.cpp"
    "${S}/tools/mtmd/mtmd-helper-gen.cpp" "${CMAKE_CURRENT_BINARY_DIR}/ui.cpp"
    TARGET_DIRECTORY lvc-mtmd PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
endif()

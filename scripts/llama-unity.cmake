# Included by `npm run engine:build` after each project() of llama.cpp
# (CMAKE_PROJECT_INCLUDE). Once the whole tree is configured, it turns on a
# unity build for the `llama` library: its 150-odd src/models/*.cpp files are
# small and spend most of their compile time parsing the same headers, so
# compiling them 16 to a file cuts the build by minutes. Files that cannot
# share a unit with the others (a static function of the same name) are
# listed below; build-engine.ts builds file by file when a unity build fails.
function(lvc_unity_build)
  if(TARGET llama)
    set_target_properties(llama PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 16)
    foreach(file models/gemma4.cpp)
      set_source_files_properties(${CMAKE_SOURCE_DIR}/src/${file} TARGET_DIRECTORY llama PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
    endforeach()
  endif()
endfunction()
if(NOT LVC_UNITY_BUILD_DEFERRED)
  set(LVC_UNITY_BUILD_DEFERRED ON)
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL lvc_unity_build)
endif()

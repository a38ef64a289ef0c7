# Included by tests/CMakeLists.txt: builds tests/fuzz with clang-14 as an
# external project into BUILD/fuzz and registers one ctest per fuzz target,
# `fuzz.smoke.TARGET` (labels unit and fuzz): the regression inputs, the seed
# corpus and then a few seconds of fuzzing from a fresh work corpus; any crash
# fails it. Without clang-14 the main build still works and the smoke tests
# fail, saying what to install (./natsume installs it).
find_program(NATSUME_FUZZ_CC NAMES clang-14)
find_program(NATSUME_FUZZ_CXX NAMES clang++-14)
set(NATSUME_FUZZ_DIR ${CMAKE_BINARY_DIR}/fuzz)
set(fuzz_src ${CMAKE_CURRENT_LIST_DIR})

if(NATSUME_FUZZ_CC AND NATSUME_FUZZ_CXX)
  include(ExternalProject)
  cmake_host_system_information(RESULT fuzz_jobs QUERY NUMBER_OF_LOGICAL_CORES)
  # BUILD_ALWAYS: the sub-build decides what changed in the shared sources.
  ExternalProject_Add(natsume_fuzz
    SOURCE_DIR ${fuzz_src}
    BINARY_DIR ${NATSUME_FUZZ_DIR}
    CMAKE_ARGS -DCMAKE_C_COMPILER=${NATSUME_FUZZ_CC} -DCMAKE_CXX_COMPILER=${NATSUME_FUZZ_CXX}
    BUILD_COMMAND ${CMAKE_COMMAND} --build <BINARY_DIR> -j ${fuzz_jobs}
    BUILD_ALWAYS ON
    INSTALL_COMMAND ""
    USES_TERMINAL_BUILD ON)
else()
  message(STATUS "clang-14 not found: the fuzz harnesses are not built and the fuzz.smoke tests will fail "
                 "(install clang-14 libfuzzer-14-dev libclang-rt-14-dev, or run ./natsume deps)")
endif()

set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${fuzz_src}/targets.txt)
file(STRINGS ${fuzz_src}/targets.txt fuzz_lines REGEX "^[a-z]")
foreach(line ${fuzz_lines})
  string(REGEX MATCH "^[a-z0-9_]+" name "${line}")
  add_test(NAME fuzz.smoke.${name}
    COMMAND /usr/bin/python3 ${fuzz_src}/run_fuzz.py --fuzz-dir ${NATSUME_FUZZ_DIR}
            --work ${CMAKE_BINARY_DIR}/fuzz-smoke --fresh --runs 50000 --seconds 10 ${name})
  set_tests_properties(fuzz.smoke.${name} PROPERTIES LABELS "unit;fuzz" TIMEOUT 180)
endforeach()

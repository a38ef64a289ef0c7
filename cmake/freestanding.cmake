# Freestanding x86-64 images built with the host g++.
#
#   -ffreestanding            no hosted library is assumed; the image brings its own
#   -fno-exceptions -fno-rtti no unwinder or typeinfo at run time (STYLE: errors are values)
#   -fno-asynchronous-unwind-tables  no .eh_frame to place or load
#   -mno-red-zone             interrupts and NMIs push onto the current stack
#   -fno-stack-protector      no TLS canary exists
#   -fno-pic -fno-pie -mcmodel=small  linked at fixed physical addresses below 2 GiB
#   -fno-threadsafe-statics   no __cxa_guard_* runtime
set(NATSUME_FREESTANDING_COMPILE_OPTIONS
  -ffreestanding -fno-exceptions -fno-rtti -fno-asynchronous-unwind-tables
  -fno-unwind-tables -mno-red-zone -fno-stack-protector -fno-pic -fno-pie
  -mcmodel=small -fno-threadsafe-statics -fno-use-cxa-atexit
  -fmacro-prefix-map=${CMAKE_SOURCE_DIR}/=
  -Wall -Wextra -Werror -O2 -g)

# The hypervisor never touches SSE/x87 state, so guest vector registers stay
# live across VM exits without any save/restore.
set(NATSUME_HV_COMPILE_OPTIONS -mgeneral-regs-only)

# natsume_freestanding_executable(NAME LINKER_SCRIPT <ld> SOURCES ...)
function(natsume_freestanding_executable name)
  cmake_parse_arguments(ARG "" "LINKER_SCRIPT" "SOURCES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES SUFFIX ".elf" LINK_DEPENDS ${ARG_LINKER_SCRIPT})
  target_compile_options(${name} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${NATSUME_FREESTANDING_COMPILE_OPTIONS}>
    $<$<COMPILE_LANGUAGE:C>:${NATSUME_FREESTANDING_COMPILE_OPTIONS}>
    $<$<COMPILE_LANGUAGE:ASM>:-fno-pic>)
  # The project root: drivers/ (one definition of each hardware fact) is
  # included as "drivers/...", by every image alike.
  target_include_directories(${name} PRIVATE ${NATSUME_INCLUDE_DIR} ${CMAKE_SOURCE_DIR})
  target_link_options(${name} PRIVATE -nostdlib -static -no-pie
    -Wl,-T,${ARG_LINKER_SCRIPT} -Wl,-z,max-page-size=0x1000 -Wl,--build-id=none
    -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments)
  target_link_libraries(${name} PRIVATE gcc)
endfunction()

# natsume_unit_test(NAME SOURCES ...): a Catch2 test binary whose cases ctest
# lists one by one under the label "unit".
function(natsume_unit_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;INCLUDES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${NATSUME_INCLUDE_DIR} ${CMAKE_SOURCE_DIR} ${ARG_INCLUDES})
  target_compile_options(${name} PRIVATE -Wall -Wextra -Werror -DNATSUME_HOST_TEST=1)
  target_link_libraries(${name} PRIVATE natsume_catch_main ${ARG_LIBS})
  catch_discover_tests(${name} PROPERTIES LABELS unit)
endfunction()

# Unit tests of the decode module (pgoutput decoder, replication framing, COPY row scanner).
# One ctest entry per case, decode.<suite>.<case>: the case names are the TEST_CASE(...) lines of
# each test file (a case missing from the file's table fails the build as an unused function),
# and the executable runs the case named by its argument. Fixtures are read at run time from
# tests/fixtures/pgoutput.
set(pgh_decode_fixtures ${CMAKE_CURRENT_LIST_DIR}/../fixtures/pgoutput)

foreach(pgh_decode_suite pgoutput copyscan replmsg)
  set(pgh_decode_exe test_${pgh_decode_suite})
  set(pgh_decode_src ${CMAKE_CURRENT_LIST_DIR}/${pgh_decode_exe}.c)
  add_executable(${pgh_decode_exe} ${pgh_decode_src})
  # Object libraries: pgh_util's objects do not come along with pgh_decode, so name it too.
  target_link_libraries(${pgh_decode_exe} PRIVATE pgh_decode pgh_util)
  target_compile_definitions(${pgh_decode_exe} PRIVATE
                             PGH_FIXTURES_DIR="${pgh_decode_fixtures}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${pgh_decode_src})
  file(STRINGS ${pgh_decode_src} pgh_decode_cases REGEX "^TEST_CASE\\([a-z0-9_]+\\)")
  if(NOT pgh_decode_cases)
    message(FATAL_ERROR "${pgh_decode_src}: no TEST_CASE(...) lines")
  endif()
  foreach(pgh_decode_line ${pgh_decode_cases})
    string(REGEX REPLACE "^TEST_CASE\\(([a-z0-9_]+)\\).*" "\\1" pgh_decode_case
                         ${pgh_decode_line})
    add_test(NAME decode.${pgh_decode_suite}.${pgh_decode_case}
             COMMAND ${pgh_decode_exe} ${pgh_decode_case})
    set_tests_properties(decode.${pgh_decode_suite}.${pgh_decode_case} PROPERTIES LABELS unit)
  endforeach()
endforeach()

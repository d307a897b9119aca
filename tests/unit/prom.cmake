# The Prometheus text writer (src/util/prom.c): one ctest entry per case of
# tests/unit/test_prom.c, whose CASES(X) list is read here so that a new case needs no edit in
# this file.
add_executable(test_prom ${CMAKE_CURRENT_LIST_DIR}/test_prom.c)
target_link_libraries(test_prom PRIVATE pgh_util m)

file(READ ${CMAKE_CURRENT_LIST_DIR}/test_prom.c pgh_prom_test_source)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_LIST_DIR}/test_prom.c)
string(REGEX MATCHALL "\n    X\\([a-z0-9_]+\\)" pgh_prom_cases "${pgh_prom_test_source}")
if(NOT pgh_prom_cases)
  message(FATAL_ERROR "test_prom.c: no X(...) lines in CASES")
endif()
foreach(entry ${pgh_prom_cases})
  string(REGEX REPLACE "^\n    X\\(([a-z0-9_]+)\\)$" "\\1" case_name "${entry}")
  add_test(NAME prom.${case_name} COMMAND test_prom ${case_name})
  set_tests_properties(prom.${case_name} PROPERTIES LABELS unit)
endforeach()

# How the PostgreSQL apply names the row of a refused statement (src/dest/postgres/failure.c,
# that file alone): one ctest entry per case of tests/unit/test_apply_failure.c, whose CASES(X)
# list is read here so that a new case needs no edit in this file.
add_executable(test_apply_failure ${CMAKE_CURRENT_LIST_DIR}/test_apply_failure.c
               ${PROJECT_SOURCE_DIR}/src/dest/postgres/failure.c)
target_link_libraries(test_apply_failure PRIVATE pgh_util PkgConfig::LIBPQ)

file(READ ${CMAKE_CURRENT_LIST_DIR}/test_apply_failure.c pgh_apply_failure_source)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_LIST_DIR}/test_apply_failure.c)
string(REGEX MATCHALL "\n    X\\([a-z0-9_]+\\)" pgh_apply_failure_cases "${pgh_apply_failure_source}")
if(NOT pgh_apply_failure_cases)
  message(FATAL_ERROR "test_apply_failure.c: no X(...) lines in CASES")
endif()
foreach(entry ${pgh_apply_failure_cases})
  string(REGEX REPLACE "^\n    X\\(([a-z0-9_]+)\\)$" "\\1" case_name "${entry}")
  add_test(NAME apply_failure.${case_name} COMMAND test_apply_failure ${case_name})
  set_tests_properties(apply_failure.${case_name} PROPERTIES LABELS unit)
endforeach()

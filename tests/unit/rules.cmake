# Rules unit tests (src/rules): one ctest entry per case of tests/unit/test_rules.c, whose
# CASES(X) list is read here so that a new case needs no edit in this file.
add_executable(test_rules ${CMAKE_CURRENT_LIST_DIR}/test_rules.c)
target_link_libraries(test_rules PRIVATE pgh_rules pgh_decode pgh_util)
target_compile_definitions(test_rules PRIVATE PGH_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

file(READ ${CMAKE_CURRENT_LIST_DIR}/test_rules.c pgh_rules_test_source)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_LIST_DIR}/test_rules.c)
string(REGEX MATCHALL "\n    X\\([a-z0-9_]+\\)" pgh_rules_cases "${pgh_rules_test_source}")
if(NOT pgh_rules_cases)
  message(FATAL_ERROR "test_rules.c: no X(...) lines in CASES")
endif()
foreach(entry ${pgh_rules_cases})
  string(REGEX REPLACE "^\n    X\\(([a-z0-9_]+)\\)$" "\\1" case_name "${entry}")
  add_test(NAME rules.${case_name} COMMAND test_rules ${case_name})
  set_tests_properties(rules.${case_name} PROPERTIES LABELS unit)
endforeach()

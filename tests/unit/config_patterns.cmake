# Table patterns, the "schema.table" form and exclude_tables: one ctest entry per case of
# tests/unit/test_config_patterns.c (its CASES(X) list is read here).
add_executable(test_config_patterns ${CMAKE_CURRENT_LIST_DIR}/test_config_patterns.c)
target_link_libraries(test_config_patterns PRIVATE pgh_config pgh_util)

file(READ ${CMAKE_CURRENT_LIST_DIR}/test_config_patterns.c pgh_pattern_test_source)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_LIST_DIR}/test_config_patterns.c)
string(REGEX MATCHALL "\n    X\\([a-z0-9_]+\\)" pgh_pattern_cases "${pgh_pattern_test_source}")
foreach(entry ${pgh_pattern_cases})
  string(REGEX REPLACE "^\n    X\\(([a-z0-9_]+)\\)$" "\\1" case_name "${entry}")
  add_test(NAME config_patterns.${case_name} COMMAND test_config_patterns ${case_name})
  set_tests_properties(config_patterns.${case_name} PROPERTIES LABELS unit)
endforeach()

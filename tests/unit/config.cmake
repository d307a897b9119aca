# Configuration parser unit tests: one ctest entry per case of tests/unit/test_config.c, whose
# CASES(X) list is read here so that a new case needs no edit in this file.
add_executable(test_config ${CMAKE_CURRENT_LIST_DIR}/test_config.c)
target_link_libraries(test_config PRIVATE pgh_config pgh_util)
target_compile_definitions(test_config PRIVATE PGH_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

file(READ ${CMAKE_CURRENT_LIST_DIR}/test_config.c pgh_config_test_source)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_LIST_DIR}/test_config.c)
string(REGEX MATCHALL "\n    X\\([a-z0-9_]+\\)" pgh_config_cases "${pgh_config_test_source}")
foreach(entry ${pgh_config_cases})
  string(REGEX REPLACE "^\n    X\\(([a-z0-9_]+)\\)$" "\\1" case_name "${entry}")
  add_test(NAME config.${case_name} COMMAND test_config ${case_name})
  set_tests_properties(config.${case_name} PROPERTIES LABELS unit)
endforeach()

# The file destination's data files (src/dest/file/file_set.h) without a server: one ctest entry
# per case of tests/unit/test_file_set.c, whose CASES(X) list is read here.
add_executable(test_file_set ${CMAKE_CURRENT_LIST_DIR}/test_file_set.c
               ${PROJECT_SOURCE_DIR}/src/dest/destination.c)
# Object libraries do not bring their dependencies' objects along: name every module used.
target_link_libraries(test_file_set PRIVATE pgh_dest_file pgh_dest_json pgh_decode pgh_config
                      pgh_util PkgConfig::JANSSON)

file(READ ${CMAKE_CURRENT_LIST_DIR}/test_file_set.c pgh_file_test_source)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_LIST_DIR}/test_file_set.c)
string(REGEX MATCHALL "\n    X\\([a-z0-9_]+\\)" pgh_file_cases "${pgh_file_test_source}")
if(NOT pgh_file_cases)
  message(FATAL_ERROR "test_file_set.c: no X(...) lines in CASES")
endif()
foreach(entry ${pgh_file_cases})
  string(REGEX REPLACE "^\n    X\\(([a-z0-9_]+)\\)$" "\\1" case_name "${entry}")
  add_test(NAME file.set.${case_name} COMMAND test_file_set ${case_name})
  set_tests_properties(file.set.${case_name} PROPERTIES LABELS unit)
endforeach()

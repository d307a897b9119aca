# JSON-lines destination unit tests: one ctest entry per case of tests/unit/test_json_sink.c,
# whose CASES(X) list is read here so that a new case needs no edit in this file.
# pgh_destination_new and friends live in src/dest/destination.c: that file alone, not the
# whole pipeline module.
add_executable(test_json_sink ${CMAKE_CURRENT_LIST_DIR}/test_json_sink.c
               ${PROJECT_SOURCE_DIR}/src/dest/destination.c)
# Object libraries do not bring their dependencies' objects along: name every module used.
target_link_libraries(test_json_sink PRIVATE pgh_dest_stdout pgh_dest_json pgh_decode pgh_config pgh_util PkgConfig::JANSSON)

file(READ ${CMAKE_CURRENT_LIST_DIR}/test_json_sink.c pgh_sink_test_source)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_LIST_DIR}/test_json_sink.c)
string(REGEX MATCHALL "\n    X\\([a-z0-9_]+\\)" pgh_sink_cases "${pgh_sink_test_source}")
if(NOT pgh_sink_cases)
  message(FATAL_ERROR "test_json_sink.c: no X(...) lines in CASES")
endif()
foreach(entry ${pgh_sink_cases})
  string(REGEX REPLACE "^\n    X\\(([a-z0-9_]+)\\)$" "\\1" case_name "${entry}")
  add_test(NAME sink.json.${case_name} COMMAND test_json_sink ${case_name})
  set_tests_properties(sink.json.${case_name} PROPERTIES LABELS unit)
endforeach()

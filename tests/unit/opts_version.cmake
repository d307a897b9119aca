# Internal options structs refuse a version they were not built for (tests/unit/test_opts_version.c).
add_executable(test_opts_version ${CMAKE_CURRENT_LIST_DIR}/test_opts_version.c)
target_link_libraries(test_opts_version PRIVATE pghost_lib)
add_test(NAME unit.opts_version COMMAND test_opts_version)
set_tests_properties(unit.opts_version PROPERTIES LABELS unit)

# Issue 11: suggested statements quoted (finding 1), destination keys compared (finding 3), and
# pghost check (read-only, every problem listed), against real servers.
add_executable(it_check ${CMAKE_CURRENT_LIST_DIR}/it_check.c)
target_link_libraries(it_check PRIVATE pgh_run)
target_compile_definitions(it_check PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_check pghost)
add_test(NAME check_hints_keys_and_check COMMAND it_check)
set_tests_properties(check_hints_keys_and_check PROPERTIES LABELS integration
                     SKIP_RETURN_CODE 77 TIMEOUT 600)

# The catch-up's copy again waits for transactions committed in the WAL but not yet visible
# (a synchronous standby holding them): real servers and the real binary.
add_executable(it_visible ${CMAKE_CURRENT_LIST_DIR}/it_visible.c)
target_link_libraries(it_visible PRIVATE pgh_run)
target_compile_definitions(it_visible PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_visible pghost)
add_test(NAME catchup_visible COMMAND it_visible)
set_tests_properties(catchup_visible PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 600)
